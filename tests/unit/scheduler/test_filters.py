"""Filters as tables: nodes and a pod in, the feasible nodes and the FailedScheduling message out."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from actors.scheduler.decide import Scheduler
from actors.scheduler.nodeinfo import NodeCache
from tests.unit.scheduler.helpers import node, pod, required


def run(
    nodes: list[dict[str, Any]], the_pod: dict[str, Any], bound: list[dict[str, Any]] = ()
) -> tuple[set, str]:
    cache = NodeCache(capacity=4)
    for n in nodes:
        cache.set_node(n)
    for b in bound:
        cache.add_pod(b)
    sched = Scheduler(cache, rng=random.Random(0))
    feasible = {name for name, total in sched.totals(the_pod).items() if total >= 0}
    return feasible, sched.decide(the_pod).message


NOT_READY = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
UNREACHABLE = "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
AFFINITY = "node(s) didn't match Pod's node affinity/selector"
NET_UNAVAILABLE = "node(s) had untolerated taint {node.kubernetes.io/network-unavailable: }"
TOL_UNSCHED = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> dict[str, str]:
    return {"key": key, "value": value, "effect": effect}


def network(n: dict[str, Any], status: str) -> dict[str, Any]:
    """``n`` with a NetworkUnavailable condition (as the kubelet and its flannel agent write it)."""
    reason = "NoRouteCreated" if status == "True" else "FlannelIsUp"
    n["status"].setdefault("conditions", []).append(
        {"type": "NetworkUnavailable", "status": status, "reason": reason}
    )
    return n


def tol(key: str = "", operator: str = "Equal", value: str = "", effect: str = "") -> dict[str, str]:
    return {"key": key, "operator": operator, "value": value, "effect": effect}


NODE_STATE = [
    ("ready", node("a"), pod(), True, ""),
    ("not ready", node("a", ready="False"), pod(), False, NOT_READY),
    ("no Ready condition", node("a", ready=None), pod(), False, NOT_READY),
    ("ready unknown", node("a", ready="Unknown"), pod(), False, UNREACHABLE),
    (
        "not ready, tolerated",
        node("a", ready="False"),
        pod(tolerations=[tol("node.kubernetes.io/not-ready", "Exists")]),
        True,
        "",
    ),
    ("network unavailable", network(node("a"), "True"), pod(), False, NET_UNAVAILABLE),
    ("network up", network(node("a"), "False"), pod(), True, ""),
    (
        "network unavailable, tolerated (a host-network DaemonSet pod)",
        network(node("a"), "True"),
        pod(tolerations=[tol("node.kubernetes.io/network-unavailable", "Exists", effect="NoSchedule")]),
        True,
        "",
    ),
    (
        "network unavailable and tainted so: one taint",
        network(node("a", taints=[taint("node.kubernetes.io/network-unavailable")]), "True"),
        pod(),
        False,
        NET_UNAVAILABLE,
    ),
    ("cordoned", node("a", unschedulable=True), pod(), False, "node(s) were unschedulable"),
    ("cordoned, tolerated", node("a", unschedulable=True), pod(tolerations=TOL_UNSCHED), True, ""),
]


@pytest.mark.parametrize(
    ("case", "the_node", "the_pod", "fits", "reason"), NODE_STATE, ids=[r[0] for r in NODE_STATE]
)
def test_node_state(case: str, the_node: dict, the_pod: dict, fits: bool, reason: str) -> None:
    feasible, message = run([the_node], the_pod)
    assert (feasible == {"a"}) is fits
    assert message == ("" if fits else f"0/1 nodes are available: 1 {reason}.")


TAINTS = [
    ("untolerated NoSchedule", [taint("k", "v")], [], "node(s) had untolerated taint {k: v}"),
    ("untolerated NoExecute", [taint("k", "v", "NoExecute")], [], "node(s) had untolerated taint {k: v}"),
    ("PreferNoSchedule only scores", [taint("k", "v", "PreferNoSchedule")], [], None),
    ("Equal, same value", [taint("k", "v")], [tol("k", "Equal", "v", "NoSchedule")], None),
    ("operator defaults to Equal", [taint("k", "v")], [{"key": "k", "value": "v"}], None),
    (
        "Equal, other value",
        [taint("k", "v")],
        [tol("k", "Equal", "w")],
        "node(s) had untolerated taint {k: v}",
    ),
    ("Exists on the key", [taint("k", "v")], [tol("k", "Exists")], None),
    (
        "Exists, empty key: everything",
        [taint("k", "v"), taint("j", "", "NoExecute")],
        [tol("", "Exists")],
        None,
    ),
    (
        "other effect",
        [taint("k", "v")],
        [tol("k", "Exists", effect="NoExecute")],
        "node(s) had untolerated taint {k: v}",
    ),
    (
        "first untolerated is named",
        [taint("a", "1"), taint("b", "2")],
        [tol("a", "Exists")],
        "node(s) had untolerated taint {b: 2}",
    ),
    ("empty value", [taint("dedicated")], [], "node(s) had untolerated taint {dedicated: }"),
]


@pytest.mark.parametrize(("case", "taints", "tols", "reason"), TAINTS, ids=[r[0] for r in TAINTS])
def test_taints(case: str, taints: list, tols: list, reason: str | None) -> None:
    feasible, message = run([node("a", taints=taints)], pod(tolerations=tols))
    if reason is None:
        assert feasible == {"a"}
    else:
        assert feasible == set()
        assert message == f"0/1 nodes are available: 1 {reason}."


LABELLED = [
    node("a", labels={"zone": "z1", "disk": "ssd", "cores": "8"}),
    node("b", labels={"zone": "z2", "cores": "16"}),
    node("c", labels={"zone": "z3", "cores": "many"}),
]

SELECTORS = [
    ("nodeSelector", {"nodeSelector": {"disk": "ssd"}}, {"a"}),
    ("nodeSelector, two labels", {"nodeSelector": {"disk": "ssd", "zone": "z2"}}, set()),
    ("nodeSelector, unknown key", {"nodeSelector": {"gpu": "yes"}}, set()),
    ("In", {"affinity": required([("zone", "In", ["z1", "z2"])])}, {"a", "b"}),
    ("NotIn (absent key matches)", {"affinity": required([("disk", "NotIn", ["ssd"])])}, {"b", "c"}),
    ("Exists", {"affinity": required([("disk", "Exists", [])])}, {"a"}),
    ("DoesNotExist", {"affinity": required([("disk", "DoesNotExist", [])])}, {"b", "c"}),
    ("Gt (non-integers never match)", {"affinity": required([("cores", "Gt", ["8"])])}, {"b"}),
    ("Lt", {"affinity": required([("cores", "Lt", ["10"])])}, {"a"}),
    ("Gt, bad bound", {"affinity": required([("cores", "Gt", ["x"])])}, set()),
    (
        "expressions ANDed",
        {"affinity": required([("zone", "In", ["z1", "z2"]), ("disk", "Exists", [])])},
        {"a"},
    ),
    ("terms ORed", {"affinity": required([("zone", "In", ["z1"])], [("zone", "In", ["z3"])])}, {"a", "c"}),
    ("no terms: no node", {"affinity": required()}, set()),
    ("empty term: no node", {"affinity": required([])}, set()),
    ("matchFields metadata.name", {"affinity": required(fields=[("metadata.name", "In", ["b"])])}, {"b"}),
    ("matchFields NotIn", {"affinity": required(fields=[("metadata.name", "NotIn", ["b"])])}, {"a", "c"}),
    (
        "selector and affinity both hold",
        {"nodeSelector": {"disk": "ssd"}, "affinity": required([("zone", "In", ["z2"])])},
        set(),
    ),
    ("unknown operator", {"affinity": required([("zone", "Near", ["z1"])])}, set()),
]


@pytest.mark.parametrize(("case", "spec", "expected"), SELECTORS, ids=[r[0] for r in SELECTORS])
def test_selectors(case: str, spec: dict, expected: set) -> None:
    feasible, message = run(LABELLED, pod(**spec))
    assert feasible == expected
    if not expected:
        assert message == f"0/3 nodes are available: 3 {AFFINITY}."


def test_seed_alpha_annotation() -> None:
    """The seed's pod-node-affinity.yaml: nodeAffinity in scheduler.alpha.kubernetes.io/affinity."""
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/e2e-az-name",
                                "operator": "In",
                                "values": ["e2e-az1", "e2e-az2"],
                            }
                        ]
                    }
                ]
            }
        }
    }
    nodes = [
        node("a", labels={"kubernetes.io/e2e-az-name": "e2e-az2"}),
        node("b", labels={"kubernetes.io/e2e-az-name": "e2e-az3"}),
        node("c"),
    ]
    the_pod = pod(annotations={"scheduler.alpha.kubernetes.io/affinity": json.dumps(affinity)})
    feasible, _ = run(nodes, the_pod)
    assert feasible == {"a"}


RESOURCES = [
    # case, node kwargs, bound pods (cpu, memory), pod kwargs, fits, reasons
    (
        "fits exactly",
        {"cpu": "1", "memory": "1Gi"},
        [("500m", "512Mi")],
        {"cpu": "500m", "memory": "512Mi"},
        True,
        [],
    ),
    ("cpu short", {"cpu": "1"}, [("600m", None)], {"cpu": "500m"}, False, ["Insufficient cpu"]),
    (
        "memory short",
        {"memory": "1Gi"},
        [(None, "768Mi")],
        {"memory": "512Mi"},
        False,
        ["Insufficient memory"],
    ),
    (
        "both short",
        {"cpu": "1", "memory": "1Gi"},
        [],
        {"cpu": "2", "memory": "2Gi"},
        False,
        ["Insufficient cpu", "Insufficient memory"],
    ),
    ("no requests fit a full node", {"cpu": "1"}, [("1", None)], {}, True, []),
    ("pods limit", {"pods": "1"}, [("100m", None)], {"cpu": "100m"}, False, ["Too many pods"]),
    (
        "pods limit and cpu",
        {"pods": "1", "cpu": "1"},
        [("1", None)],
        {"cpu": "1"},
        False,
        ["Too many pods", "Insufficient cpu"],
    ),
    ("default 110 pods", {"pods": None}, [(None, None)] * 109, {}, True, []),
    ("default 110 pods, full", {"pods": None}, [(None, None)] * 110, {}, False, ["Too many pods"]),
]


@pytest.mark.parametrize(
    ("case", "node_kw", "used", "pod_kw", "fits", "reasons"), RESOURCES, ids=[r[0] for r in RESOURCES]
)
def test_resources(case: str, node_kw: dict, used: list, pod_kw: dict, fits: bool, reasons: list) -> None:
    bound = [pod(f"b{i}", cpu=c, memory=m, node_name="a") for i, (c, m) in enumerate(used)]
    feasible, message = run([node("a", **node_kw)], pod(**pod_kw), bound)
    assert (feasible == {"a"}) is fits
    if not fits:
        assert message == "0/1 nodes are available: " + ", ".join(f"1 {r}" for r in sorted(reasons)) + "."


def test_finished_pods_release_their_node() -> None:
    bound = [
        pod("done", cpu="1", node_name="a", phase="Succeeded"),
        pod("failed", cpu="1", node_name="a", phase="Failed"),
    ]
    feasible, _ = run([node("a", cpu="1")], pod(cpu="1"), bound)
    assert feasible == {"a"}


def test_init_containers_take_the_max() -> None:
    p = pod(cpu="200m")
    p["spec"]["initContainers"] = [{"name": "init", "image": "i", "resources": {"requests": {"cpu": "900m"}}}]
    assert run([node("a", cpu="800m")], p)[0] == set()
    assert run([node("a", cpu="900m")], p)[0] == {"a"}


PORTS = [
    ("same port", (8080, None, None), (8080, None, None), False),
    ("other port", (8080, None, None), (8081, None, None), True),
    ("other protocol", (8080, None, None), (8080, None, "UDP"), True),
    ("two specific IPs", (8080, "10.0.0.1", None), (8080, "10.0.0.2", None), True),
    ("same specific IP", (8080, "10.0.0.1", None), (8080, "10.0.0.1", None), False),
    ("wildcard taken, asks specific", (8080, None, None), (8080, "10.0.0.1", None), False),
    ("specific taken, asks wildcard", (8080, "10.0.0.1", None), (8080, None, None), False),
]


@pytest.mark.parametrize(("case", "used", "wanted", "fits"), PORTS, ids=[r[0] for r in PORTS])
def test_host_ports(case: str, used: tuple, wanted: tuple, fits: bool) -> None:
    port, ip, proto = used
    bound = [pod("b", node_name="a", host_port=port, host_ip=ip, protocol=proto)]
    port, ip, proto = wanted
    feasible, _ = run([node("a"), node("b")], pod(host_port=port, host_ip=ip, protocol=proto), bound)
    assert feasible == ({"a", "b"} if fits else {"b"})


def test_host_port_message() -> None:
    bound = [pod("b", node_name="a", host_port=80)]
    _, message = run([node("a")], pod(host_port=80), bound)
    assert message == "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."


def test_first_failing_filter_is_charged_in_plugin_order() -> None:
    """Unschedulable, then taints, then affinity, then ports, then resources (one reason per node)."""
    nodes = [
        node("cordoned", unschedulable=True, cpu="0"),
        node("tainted", taints=[taint("k", "v")], cpu="0"),
        node("unlabelled", cpu="0"),
        node("small", cpu="100m", labels={"disk": "ssd"}),
        node("small2", cpu="100m", labels={"disk": "ssd"}),
        node("notready", ready="False", labels={"disk": "ssd"}),
    ]
    feasible, message = run(nodes, pod(cpu="1", nodeSelector={"disk": "ssd"}))
    assert feasible == set()
    assert message == (
        "0/6 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {k: v}, "
        "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
        "1 node(s) were unschedulable, 2 Insufficient cpu."
    )


def test_the_issue_example() -> None:
    nodes = [node("a", unschedulable=True), node("b", cpu="1"), node("c", cpu="1")]
    assert (
        run(nodes, pod(cpu="2"))[1]
        == "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu."
    )
