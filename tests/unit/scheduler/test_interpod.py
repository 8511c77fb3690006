"""Required inter-pod affinity and anti-affinity, as kube-scheduler's InterPodAffinity filter decides."""

from __future__ import annotations

import random
from typing import Any

from actors.scheduler.decide import Scheduler
from actors.scheduler.interpod import interpod_failures, interpod_ok
from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import pod_info
from tests.unit.scheduler.helpers import node, pod

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def labelled(name: str, labels: dict[str, str], namespace: str = "default", **spec: Any) -> dict[str, Any]:
    p = pod(name, **spec)
    p["metadata"]["labels"] = labels
    p["metadata"]["namespace"] = namespace
    return p


def term(key: str, labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key, **extra}


def anti(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def together(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def cluster(*zones: str) -> Scheduler:
    """One node per zone given: n0 in zones[0], n1 in zones[1], ... ("" = no zone label)."""
    cache = NodeCache(capacity=8)
    for i, zone in enumerate(zones):
        labels = {HOST: f"n{i}", **({ZONE: zone} if zone else {})}
        cache.set_node(node(f"n{i}", labels=labels))
    return Scheduler(cache, rng=random.Random(0))


def feasible(sched: Scheduler, p: dict[str, Any]) -> set[str]:
    """The nodes the pod may go to: every filter's verdict, as ``decide`` chooses among them."""
    totals = sched.totals(p)
    allowed = interpod_ok(sched.cache, pod_info(p))
    return {
        name
        for name, total in totals.items()
        if total >= 0 and (allowed is None or allowed[sched.cache.index[name]])
    }


def place(sched: Scheduler, p: dict[str, Any]) -> str:
    decision = sched.schedule(p)
    assert decision.node_name is not None, decision.message
    return decision.node_name


def test_replicas_with_anti_affinity_to_each_other_take_one_node_each() -> None:
    sched = cluster("a", "a", "b")
    web = {"app": "web"}
    nodes = [place(sched, labelled(f"web-{i}", web, affinity=anti(term(HOST, web)))) for i in range(3)]
    assert sorted(nodes) == ["n0", "n1", "n2"]
    fourth = sched.decide(labelled("web-3", web, affinity=anti(term(HOST, web))))
    assert fourth.node_name is None
    assert fourth.message == "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."


def test_anti_affinity_by_zone_leaves_the_other_zones() -> None:
    sched = cluster("a", "a", "b")
    db = {"app": "db"}
    sched.cache.add_pod(labelled("db-0", db, node_name="n0"))
    assert feasible(sched, labelled("db-1", db, affinity=anti(term(ZONE, db)))) == {"n2"}


def test_an_existing_pods_anti_affinity_keeps_matching_pods_away() -> None:
    sched = cluster("a", "b")
    loner = labelled("loner", {"app": "loner"}, node_name="n0", affinity=anti(term(HOST, {"app": "noisy"})))
    sched.cache.add_pod(loner)
    noisy = labelled("noisy", {"app": "noisy"})
    assert feasible(sched, noisy) == {"n1"}
    only_n0 = labelled("noisy2", {"app": "noisy"}, nodeSelector={HOST: "n0"})
    message = sched.decide(only_n0).message
    assert "1 node(s) didn't satisfy existing pods anti-affinity rules" in message
    # a pod the term does not match goes anywhere
    assert feasible(sched, labelled("quiet", {"app": "quiet"})) == {"n0", "n1"}


def test_affinity_puts_a_pod_in_the_domain_of_the_pods_it_follows() -> None:
    sched = cluster("a", "a", "b")
    sched.cache.add_pod(labelled("cache", {"app": "cache"}, node_name="n0"))
    web = labelled("web", {"app": "web"}, affinity=together(term(ZONE, {"app": "cache"})))
    assert feasible(sched, web) == {"n0", "n1"}
    host_bound = labelled("web2", {"app": "web"}, affinity=together(term(HOST, {"app": "cache"})))
    assert place(sched, host_bound) == "n0"


def test_affinity_with_nobody_to_follow_is_unschedulable_unless_the_pod_is_the_first_of_its_group() -> None:
    sched = cluster("a", "b", "")
    lonely = labelled("web", {"app": "web"}, affinity=together(term(ZONE, {"app": "cache"})))
    decision = sched.decide(lonely)
    assert decision.node_name is None
    assert decision.message == "0/3 nodes are available: 3 node(s) didn't match pod affinity rules."
    # a pod that matches its own term may start the group, on any node that has the topology key
    first = labelled("cache-0", {"app": "cache"}, affinity=together(term(ZONE, {"app": "cache"})))
    assert feasible(sched, first) == {"n0", "n1"}
    where = place(sched, first)
    second = labelled("cache-1", {"app": "cache"}, affinity=together(term(ZONE, {"app": "cache"})))
    assert feasible(sched, second) == {where}


def test_a_pod_counts_for_affinity_only_if_it_matches_every_term() -> None:
    sched = cluster("a", "b")
    sched.cache.add_pod(labelled("x", {"app": "cache"}, node_name="n0"))
    sched.cache.add_pod(labelled("y", {"tier": "hot"}, node_name="n1"))
    both = together(term(ZONE, {"app": "cache"}), term(ZONE, {"tier": "hot"}))
    assert sched.decide(labelled("web", {"app": "web"}, affinity=both)).node_name is None
    sched.cache.add_pod(labelled("z", {"app": "cache", "tier": "hot"}, node_name="n1"))
    assert feasible(sched, labelled("web", {"app": "web"}, affinity=both)) == {"n1"}


def test_terms_look_in_the_pods_namespace_the_listed_ones_or_all_for_an_empty_selector() -> None:
    sched = cluster("a", "b")
    sched.cache.add_pod(labelled("db", {"app": "db"}, namespace="other", node_name="n0"))
    same_ns = labelled("db-2", {"app": "db"}, affinity=anti(term(HOST, {"app": "db"})))
    assert feasible(sched, same_ns) == {"n0", "n1"}  # "other" is not the pod's namespace
    listed = labelled("db-3", {"app": "db"}, affinity=anti(term(HOST, {"app": "db"}, namespaces=["other"])))
    assert feasible(sched, listed) == {"n1"}
    all_ns = anti(term(HOST, {"app": "db"}, namespaceSelector={}))
    everywhere = labelled("db-4", {"app": "db"}, affinity=all_ns)
    assert feasible(sched, everywhere) == {"n1"}


def test_a_forgotten_assumption_and_a_deleted_pod_stop_counting() -> None:
    sched = cluster("a")
    web = {"app": "web"}
    first = labelled("web-0", web, affinity=anti(term(HOST, web)))
    place(sched, first)
    second = labelled("web-1", web, affinity=anti(term(HOST, web)))
    assert sched.decide(second).node_name is None
    sched.cache.forget("default/web-0")  # the bind failed
    assert sched.decide(second).node_name == "n0"
    sched.cache.add_pod({**first, "spec": {**first["spec"], "nodeName": "n0"}})
    assert sched.decide(second).node_name is None
    sched.cache.remove_pod("default/web-0")
    assert sched.decide(second).node_name == "n0"


def test_pods_without_terms_and_no_anti_affinity_around_take_the_fast_path() -> None:
    sched = cluster("a", "b")
    sched.cache.add_pod(labelled("db", {"app": "db"}, node_name="n0"))
    assert interpod_failures(sched.cache, pod_info(labelled("web", {"app": "web"}))) is None


def preferred(kind: str, weight: int, key: str, labels: dict[str, str]) -> dict[str, Any]:
    item = {"weight": weight, "podAffinityTerm": term(key, labels)}
    return {kind: {"preferredDuringSchedulingIgnoredDuringExecution": [item]}}


def roomy_and_tight() -> Scheduler:
    """n0 nearly empty, n1 small: resource scores alone send a pod to n0."""
    cache = NodeCache(capacity=4)
    cache.set_node(node("n0", cpu="64", memory="256Gi", labels={HOST: "n0"}))
    cache.set_node(node("n1", cpu="2", memory="4Gi", labels={HOST: "n1"}))
    return Scheduler(cache, rng=random.Random(0))


def test_preferred_affinity_outweighs_the_resource_scores() -> None:
    sched = roomy_and_tight()
    assert sched.decide(labelled("plain", {"app": "web"})).node_name == "n0"
    sched.cache.add_pod(labelled("cache", {"app": "cache"}, node_name="n1"))
    near = labelled("web", {"app": "web"}, affinity=preferred("podAffinity", 100, HOST, {"app": "cache"}))
    assert sched.decide(near).node_name == "n1"


def test_preferred_anti_affinity_and_a_placed_pods_preferences_push_a_pod_away() -> None:
    sched = roomy_and_tight()
    sched.cache.add_pod(labelled("web-0", {"app": "web"}, node_name="n0"))
    apart = labelled(
        "web-1", {"app": "web"}, affinity=preferred("podAntiAffinity", 100, HOST, {"app": "web"})
    )
    assert sched.decide(apart).node_name == "n1"
    # the same from the other side: the placed pod prefers to be away from app=batch
    sched2 = roomy_and_tight()
    shy = labelled(
        "shy",
        {"app": "shy"},
        node_name="n0",
        affinity=preferred("podAntiAffinity", 100, HOST, {"app": "batch"}),
    )
    sched2.cache.add_pod(shy)
    assert sched2.decide(labelled("batch", {"app": "batch"})).node_name == "n1"
    assert sched2.decide(labelled("other", {"app": "other"})).node_name == "n0"


def test_preferred_terms_alone_never_make_a_pod_unschedulable() -> None:
    sched = cluster("a")
    sched.cache.add_pod(labelled("web-0", {"app": "web"}, node_name="n0"))
    apart = labelled(
        "web-1", {"app": "web"}, affinity=preferred("podAntiAffinity", 100, HOST, {"app": "web"})
    )
    assert sched.decide(apart).node_name == "n0"
