"""Scores as tables: one node's state and a pod in, each 0-100 score out; and the choice they make."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import numpy as np
import pytest

from actors.scheduler import scores
from actors.scheduler.decide import Scheduler
from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import pod_info
from tests.unit.scheduler.helpers import node, pod


def one(fn: Any, the_node: dict, the_pod: dict, bound: list[dict] = ()) -> float:
    cache = NodeCache(capacity=2)
    cache.set_node(the_node)
    for b in bound:
        cache.add_pod(b)
    idx = np.array([cache.index[the_node["metadata"]["name"]]])
    info = pod_info(the_pod)
    try:
        out = fn(cache, info, idx, 1)
    except TypeError:
        out = fn(cache, info, idx)
    return float(np.asarray(out).reshape(-1)[0]) if np.ndim(out) else float(out)


LEAST = [
    # node cpu/memory, bound (cpu, memory), pod (cpu, memory), score
    (("4", "8Gi"), [], ("1", "2Gi"), 75),
    (("4", "8Gi"), [("2", "4Gi")], ("1", "2Gi"), 25),
    (("4", "8Gi"), [("3", "6Gi")], ("1", "2Gi"), 0),
    (("4", "8Gi"), [], ("4", None), 48),  # memory counts the non-zero default 200Mi: (100 + 97) // 2
    # overcommitted cpu scores 0, not negative; memory: 200Mi (non-zero default) + 100Mi of 1Gi -> 70
    (("1", "1Gi"), [("2", None)], ("100m", "100Mi"), 35),
]


@pytest.mark.parametrize(("node_res", "used", "req", "expected"), LEAST)
def test_least_allocated(node_res: tuple, used: list, req: tuple, expected: float) -> None:
    bound = [pod(f"b{i}", cpu=c, memory=m, node_name="a") for i, (c, m) in enumerate(used)]
    the_node = node("a", cpu=node_res[0], memory=node_res[1])
    assert one(scores.least_allocated, the_node, pod(cpu=req[0], memory=req[1]), bound) == expected


BALANCED = [
    (("4", "8Gi"), ("1", "2Gi"), 100),  # 25 % and 25 %
    (("4", "8Gi"), ("2", "2Gi"), 87),  # 50 % and 25 %: 1 - 0.25/2
    (("4", "8Gi"), ("4", "8Gi"), 100),
    (("4", "8Gi"), ("4", "1Mi"), 50),  # 100 % cpu, ~0 % memory
]


@pytest.mark.parametrize(("node_res", "req", "expected"), BALANCED)
def test_balanced(node_res: tuple, req: tuple, expected: float) -> None:
    the_node = node("a", cpu=node_res[0], memory=node_res[1])
    assert one(scores.balanced, the_node, pod(cpu=req[0], memory=req[1])) == expected


def preferring(*prefs: tuple[int, str, str]) -> dict:
    return {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": w,
                    "preference": {"matchExpressions": [{"key": k, "operator": "In", "values": [v]}]},
                }
                for w, k, v in prefs
            ]
        }
    }


PREFERRED = [
    ({"zone": "z1"}, preferring((10, "zone", "z1")), 100),
    ({"zone": "z2"}, preferring((10, "zone", "z1")), 0),
    ({"zone": "z1"}, preferring((30, "zone", "z1"), (10, "disk", "ssd")), 75),
    ({"zone": "z1", "disk": "ssd"}, preferring((30, "zone", "z1"), (10, "disk", "ssd")), 100),
    ({"disk": "ssd"}, preferring((30, "zone", "z1"), (10, "disk", "ssd")), 25),
    ({}, {}, 0),
]


@pytest.mark.parametrize(("labels", "affinity", "expected"), PREFERRED)
def test_preferred_affinity(labels: dict, affinity: dict, expected: float) -> None:
    assert one(scores.preferred_affinity, node("a", labels=labels), pod(affinity=affinity)) == expected


PREFER_NO_SCHEDULE = [
    ([], [], 100),
    ([("k", "v")], [], 50),
    ([("k", "v"), ("j", "w")], [], 33),
    ([("k", "v"), ("j", "w")], [{"key": "k", "operator": "Exists"}], 50),
]


@pytest.mark.parametrize(("taints", "tols", "expected"), PREFER_NO_SCHEDULE)
def test_taint_toleration_score(taints: list, tols: list, expected: float) -> None:
    the_node = node("a", taints=[{"key": k, "value": v, "effect": "PreferNoSchedule"} for k, v in taints])
    assert one(scores.taint_toleration, the_node, pod(tolerations=tols)) == expected


SPREAD = [(0, 100), (1, 50), (2, 33), (3, 25)]


@pytest.mark.parametrize(("same_owner", "expected"), SPREAD)
def test_spread(same_owner: int, expected: float) -> None:
    bound = [pod(f"b{i}", owner="rs1", node_name="a") for i in range(same_owner)]
    bound += [pod("other", owner="rs2", node_name="a")]
    assert one(scores.spread, node("a"), pod(owner="rs1"), bound) == expected


def test_spread_ignores_pods_without_owner() -> None:
    assert one(scores.spread, node("a"), pod()) == 0


# --- the choice the scores make ---------------------------------------------------------------


def choose(nodes: list[dict], the_pod: dict, bound: list[dict] = (), seed: int = 0) -> str | None:
    cache = NodeCache()
    for n in nodes:
        cache.set_node(n)
    for b in bound:
        cache.add_pod(b)
    return Scheduler(cache, rng=random.Random(seed)).decide(the_pod).node_name


CHOICES = [
    (
        "less allocated",
        [node("a"), node("b")],
        [pod("x", cpu="2", memory="4Gi", node_name="a")],
        pod(cpu="1"),
        "b",
    ),
    (
        "preferred affinity",
        [node("a"), node("b", labels={"zone": "z1"})],
        [],
        pod(affinity=preferring((50, "zone", "z1"))),
        "b",
    ),
    (
        "PreferNoSchedule avoided",
        [node("a", taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}]), node("b")],
        [],
        pod(),
        "b",
    ),
    ("spread by owner", [node("a"), node("b")], [pod("x", owner="rs", node_name="b")], pod(owner="rs"), "a"),
    ("only feasible node", [node("a", cpu="100m"), node("b")], [], pod(cpu="1"), "b"),
]


@pytest.mark.parametrize(
    ("case", "nodes", "bound", "the_pod", "expected"), CHOICES, ids=[c[0] for c in CHOICES]
)
def test_choice(case: str, nodes: list, bound: list, the_pod: dict, expected: str) -> None:
    for seed in range(5):
        assert choose(nodes, the_pod, bound, seed) == expected


def test_ties_are_broken_at_random() -> None:
    nodes = [node(n) for n in "abcd"]
    picks = Counter(choose(nodes, pod(), seed=s) for s in range(200))
    assert set(picks) == set("abcd")
    assert min(picks.values()) > 20


def test_replicas_spread_evenly() -> None:
    cache = NodeCache()
    for i in range(10):
        cache.set_node(node(f"n{i}", cpu="64", memory="64Gi"))
    sched = Scheduler(cache, rng=random.Random(1))
    placed = Counter(sched.schedule(pod(f"p{i}", cpu="100m", owner="rs")).node_name for i in range(30))
    assert sorted(placed.values()) == [3] * 10
