"""The incremental path (per-class vectors patched at changed slots, scalar or vectorised) must
give exactly what a full evaluation gives, whatever happens to the cache in between."""

from __future__ import annotations

import random

import numpy as np
import pytest

from actors.scheduler import decide as decide_mod
from actors.scheduler.decide import Scheduler
from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import pod_info
from tests.unit.scheduler.helpers import node, pod

ZONES = ["z1", "z2", "z3"]


def random_node(rng: random.Random, name: str) -> dict:
    taints = []
    if rng.random() < 0.2:
        taints.append(
            {
                "key": "dedicated",
                "value": rng.choice(["a", "b"]),
                "effect": rng.choice(["NoSchedule", "PreferNoSchedule"]),
            }
        )
    return node(
        name,
        cpu=rng.choice(["1", "2", "4"]),
        memory=rng.choice(["1Gi", "4Gi"]),
        pods=rng.choice(["3", "110"]),
        labels={"zone": rng.choice(ZONES), **({"disk": "ssd"} if rng.random() < 0.5 else {})},
        ready=rng.choice(["True"] * 8 + ["False", "Unknown"]),
        unschedulable=rng.random() < 0.1,
        taints=taints,
    )


def random_pod(rng: random.Random, name: str) -> dict:
    kw: dict = {"cpu": rng.choice([None, "100m", "500m"]), "memory": rng.choice([None, "128Mi", "1Gi"])}
    if rng.random() < 0.5:
        kw["owner"] = rng.choice(["rs1", "rs2"])
    if rng.random() < 0.3:
        kw["nodeSelector"] = {"zone": rng.choice(ZONES)}
    if rng.random() < 0.3:
        kw["affinity"] = {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 5, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}
                ]
            }
        }
    if rng.random() < 0.2:
        kw["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    if rng.random() < 0.1:
        kw["host_port"] = 8080
    return pod(name, **kw)


@pytest.mark.parametrize("scalar_limit", [0, 8, 10**6])
@pytest.mark.parametrize("seed", range(6))
def test_incremental_equals_full(seed: int, scalar_limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decide_mod, "_SCALAR_LIMIT", scalar_limit)
    rng = random.Random(seed)
    cache = NodeCache(capacity=4)  # grows during the test: new epochs
    sched = Scheduler(cache, rng=random.Random(seed))
    names = [f"n{i}" for i in range(12)]
    for name in names[:6]:
        cache.set_node(random_node(rng, name))
    pods = [random_pod(rng, f"p{i}") for i in range(40)]
    scheduled: list[str] = []
    for step in range(300):
        op = rng.random()
        if op < 0.55:
            p = rng.choice(pods)
            if pod_info(p).key not in cache.pods and sched.schedule(p).node_name is not None:
                scheduled.append(pod_info(p).key)
        elif op < 0.7:
            cache.set_node(random_node(rng, rng.choice(names)))
        elif op < 0.75:
            cache.remove_node(rng.choice(names))
        elif op < 0.9 and scheduled:
            key = scheduled.pop(rng.randrange(len(scheduled)))
            (cache.forget if rng.random() < 0.5 else cache.remove_pod)(key)
        else:
            bound = random_pod(rng, f"ext{step}")
            bound["spec"]["nodeName"] = rng.choice(names)
            cache.add_pod(bound)
        probe = pod_info(rng.choice(pods))
        fresh = Scheduler(cache).totals(probe)
        assert sched.totals(probe) == fresh, f"step {step}"


def test_accounting_matches_pods() -> None:
    rng = random.Random(3)
    cache = NodeCache(capacity=2)
    sched = Scheduler(cache, rng=rng)
    for i in range(5):
        cache.set_node(node(f"n{i}", cpu="8", memory="8Gi"))
    for i in range(30):
        sched.schedule(pod(f"p{i}", cpu="100m", memory="64Mi", owner="rs"))
    for i in range(0, 30, 2):
        cache.forget(f"default/p{i}")
    live = [i for i in range(5) if cache.present[i]]
    assert float(cache.pod_count[live].sum()) == 15
    assert float(cache.req_cpu[live].sum()) == 1500
    assert float(np.asarray(cache.owners["rs"])[live].sum()) == 15
