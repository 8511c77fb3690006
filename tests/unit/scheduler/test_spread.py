"""Topology spread constraints (DoNotSchedule), as kube-scheduler's PodTopologySpread filter decides."""

from __future__ import annotations

import random
from typing import Any

from actors.scheduler.decide import Scheduler, placement_ok
from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import pod_info
from tests.unit.scheduler.helpers import node, pod

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
WEB = {"app": "web"}


def spread(key: str = ZONE, max_skew: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "maxSkew": max_skew,
        "topologyKey": key,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": WEB},
        **extra,
    }


def web(name: str, *constraints: dict[str, Any], labels: dict[str, str] = WEB, **spec: Any) -> dict[str, Any]:
    p = pod(name, topologySpreadConstraints=list(constraints), **spec)
    p["metadata"]["labels"] = dict(labels)
    return p


def cluster(*zones: str) -> Scheduler:
    cache = NodeCache(capacity=8)
    for i, zone in enumerate(zones):
        cache.set_node(node(f"n{i}", labels={HOST: f"n{i}", **({ZONE: zone} if zone else {})}))
    return Scheduler(cache, rng=random.Random(0))


def feasible(sched: Scheduler, p: dict[str, Any]) -> set[str]:
    totals = sched.totals(p)
    allowed = placement_ok(sched.cache, pod_info(p))
    return {n for n, t in totals.items() if t >= 0 and (allowed is None or allowed[sched.cache.index[n]])}


def put(sched: Scheduler, name: str, node_name: str, labels: dict[str, str] = WEB) -> None:
    p = pod(name, node_name=node_name)
    p["metadata"]["labels"] = dict(labels)
    sched.cache.add_pod(p)


def test_pods_spread_evenly_over_zones() -> None:
    sched = cluster("a", "a", "b")
    placed = [sched.schedule(web(f"w{i}", spread())).node_name for i in range(4)]
    zones = ["b" if n == "n2" else "a" for n in placed]
    assert zones.count("a") == 2 and zones.count("b") == 2


def test_a_zone_ahead_by_max_skew_takes_no_more() -> None:
    sched = cluster("a", "a", "b")
    put(sched, "w0", "n0")
    assert feasible(sched, web("w1", spread())) == {"n2"}
    assert feasible(sched, web("w1", spread(max_skew=2))) == {"n0", "n1", "n2"}
    # pods of other apps do not count
    put(sched, "other", "n2", labels={"app": "db"})
    assert feasible(sched, web("w1", spread())) == {"n2"}


def test_a_node_without_the_topology_key_is_refused_with_its_own_reason() -> None:
    sched = cluster("a", "")
    assert feasible(sched, web("w", spread())) == {"n0"}
    only_n1 = web("w", spread(), nodeSelector={HOST: "n1"})
    assert sched.decide(only_n1).message == (
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) didn't match pod topology spread constraints (missing required label)."
    )


def test_only_the_nodes_a_pod_may_use_count_as_domains() -> None:
    sched = cluster("a", "b")
    for i, where in enumerate(("n0", "n0", "n1")):
        put(sched, f"w{i}", where)
    # zone a (2) is ahead of zone b (1), but a pod held to zone a sees zone a alone: 2 + 1 - 2
    assert feasible(sched, web("w3", spread())) == {"n1"}
    assert feasible(sched, web("w3", spread(), nodeSelector={ZONE: "a"})) == {"n0"}


def test_fewer_domains_than_min_domains_count_the_minimum_as_zero() -> None:
    sched = cluster("a", "b")
    put(sched, "w0", "n0")
    put(sched, "w1", "n1")
    assert feasible(sched, web("w2", spread())) == {"n0", "n1"}
    assert sched.decide(web("w2", spread(minDomains=3))).message == (
        "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints."
    )


def test_a_pod_its_own_selector_does_not_match_adds_nothing_to_the_skew() -> None:
    sched = cluster("a", "b")
    put(sched, "w0", "n0")
    outsider = web("x", spread(), labels={"app": "tool"})
    assert feasible(sched, outsider) == {"n0", "n1"}


def test_an_empty_node_outside_the_pods_nodes_does_not_hold_the_minimum_down() -> None:
    sched = cluster("a", "a", "b")
    put(sched, "w0", "n0")
    # by hostname, among zone a only: n2 (zone b, empty) is not a domain that holds the minimum down
    in_a = web("w1", spread(HOST), nodeSelector={ZONE: "a"})
    assert feasible(sched, in_a) == {"n1"}


def test_schedule_anyway_constraints_do_not_filter() -> None:
    sched = cluster("a", "b")
    put(sched, "w0", "n0")
    put(sched, "w1", "n0")
    soft = web("w2", {**spread(), "whenUnsatisfiable": "ScheduleAnyway"})
    assert feasible(sched, soft) == {"n0", "n1"}


def test_schedule_anyway_constraints_score_the_emptier_domain_higher() -> None:
    cache = NodeCache(capacity=4)
    cache.set_node(node("n0", cpu="64", memory="256Gi", labels={HOST: "n0"}))
    cache.set_node(node("n1", cpu="2", memory="4Gi", labels={HOST: "n1"}))
    sched = Scheduler(cache, rng=random.Random(0))
    put(sched, "w0", "n0")
    put(sched, "w1", "n0")
    soft = {**spread(HOST), "whenUnsatisfiable": "ScheduleAnyway"}
    assert sched.decide(web("plain", labels={"app": "web"})).node_name == "n0"  # resources alone
    assert sched.decide(web("w2", soft)).node_name == "n1"
    # a node without the key is not refused: it only gets no spread score
    cache.set_node(node("n2", cpu="64", memory="256Gi", labels={}))
    assert "n2" in feasible(sched, web("w2", soft))
