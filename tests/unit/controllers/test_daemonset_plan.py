"""Table tests of the DaemonSet plan."""

from __future__ import annotations

from typing import Any

import pytest

from actors.daemonset.eligibility import node_placement
from actors.daemonset.plan import REVISION_HASH, current_hash, plan
from tests.unit.controllers.factories import NOW, node, pod, ref, template

OWNER = ref("DaemonSet", "agent", "uid-agent", "apps/v1")


def ds(
    *,
    node_selector: dict | None = None,
    strategy: dict | None = None,
    affinity: dict | None = None,
    tolerations: list | None = None,
    image: str = "agent:1",
) -> dict[str, Any]:
    tpl = template({"app": "agent"}, image=image)
    if node_selector:
        tpl["spec"]["nodeSelector"] = node_selector
    if affinity:
        tpl["spec"]["affinity"] = affinity
    if tolerations:
        tpl["spec"]["tolerations"] = tolerations
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default", "uid": "uid-agent", "generation": 3},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": tpl,
            "updateStrategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        },
    }


def dpod(name: str, node_name: str, d: dict, **kw: Any) -> dict[str, Any]:
    h = kw.pop("hash", None) or current_hash(d)
    return pod(name, labels={"app": "agent", REVISION_HASH: h}, owner=OWNER, node=node_name, **kw)


NO_SCHED = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
NO_EXEC = {"key": "dedicated", "value": "db", "effect": "NoExecute"}


@pytest.mark.parametrize(
    ("spec_kw", "the_node", "expected"),
    [
        ({}, node("n"), (True, True)),
        ({}, node("n", unschedulable=True), (True, True)),  # cordon does not matter
        (
            {},
            node("n", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
            (True, True),
        ),
        (
            {},
            node("n", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]),
            (True, True),
        ),
        ({}, node("n", taints=[NO_SCHED]), (False, True)),  # keeps running, no new pod
        ({}, node("n", taints=[NO_EXEC]), (False, False)),
        (
            {"tolerations": [{"key": "dedicated", "operator": "Exists"}]},
            node("n", taints=[NO_EXEC]),
            (True, True),
        ),
        ({"node_selector": {"disk": "ssd"}}, node("n"), (False, False)),
        ({"node_selector": {"disk": "ssd"}}, node("n", {"disk": "ssd"}), (True, True)),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "zone", "operator": "In", "values": ["a", "b"]}
                                    ]
                                },
                                {
                                    "matchFields": [
                                        {"key": "metadata.name", "operator": "In", "values": ["special"]}
                                    ]
                                },
                            ]
                        }
                    }
                }
            },
            node("special"),
            (True, True),
        ),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "zone", "operator": "In", "values": ["a", "b"]}
                                    ]
                                },
                            ]
                        }
                    }
                }
            },
            node("n", {"zone": "c"}),
            (False, False),
        ),
    ],
)
def test_node_placement(spec_kw: dict, the_node: dict, expected: tuple[bool, bool]) -> None:
    d = ds(**spec_kw)
    assert node_placement(d["spec"]["template"]["spec"], the_node) == expected


def test_one_pod_per_eligible_node_bound_directly() -> None:
    d = ds(node_selector={"role": "worker"})
    nodes = [node("a", {"role": "worker"}), node("b", {"role": "worker"}), node("c")]
    out = plan(d, nodes, [dpod("agent-a", "a", d)], NOW)
    assert out.create == ["b"]
    assert out.delete == []
    assert out.pod["metadata"]["labels"] == {"app": "agent", REVISION_HASH: current_hash(d)}
    assert "nodeName" not in out.pod["spec"]
    keys = {(t["key"], t["effect"]) for t in out.pod["spec"]["tolerations"]}
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in keys
    assert ("node.kubernetes.io/not-ready", "NoExecute") in keys
    assert out.status == {
        "desiredNumberScheduled": 2,
        "currentNumberScheduled": 1,
        "numberMisscheduled": 0,
        "numberReady": 1,
        "numberAvailable": 1,
        "numberUnavailable": 1,
        "updatedNumberScheduled": 1,
        "observedGeneration": 3,
    }


def test_pods_removed_from_nodes_that_left_or_stopped_matching_and_duplicates() -> None:
    d = ds(node_selector={"role": "worker"})
    nodes = [node("a", {"role": "worker"}), node("c")]
    pods = [
        dpod("old-a", "a", d, created=500),
        dpod("dup-a", "a", d, created=100),
        dpod("on-c", "c", d),
        dpod("on-gone", "gone", d),
        dpod("failed-x", "a", d, phase="Failed"),
    ]
    out = plan(d, nodes, pods, NOW)
    assert out.create == []
    assert sorted(out.delete) == ["dup-a", "failed-x", "on-c", "on-gone"]
    assert out.status["numberMisscheduled"] == 1


def test_rolling_update_respects_max_unavailable() -> None:
    d = ds(image="agent:2")
    nodes = [node(n) for n in ("a", "b", "c")]
    pods = [dpod(f"p-{n}", n, d, hash="oldhash") for n in ("a", "b", "c")]
    out = plan(d, nodes, pods, NOW)
    assert out.delete == ["p-a"]
    assert out.status["updatedNumberScheduled"] == 0
    # a new pod on a is not ready yet: nothing more is deleted
    pods = [dpod("new-a", "a", d, ready=False), *pods[1:]]
    assert plan(d, nodes, pods, NOW).delete == []
    # an old pod that is not available anyway is replaced at once
    pods = [dpod("new-a", "a", d), dpod("p-b", "b", d, hash="oldhash", ready=False), pods[2]]
    assert plan(d, nodes, pods, NOW).delete == ["p-b", "p-c"]


def test_on_delete_replaces_nothing_until_deleted() -> None:
    d = ds(image="agent:2", strategy={"type": "OnDelete"})
    nodes = [node("a"), node("b")]
    pods = [dpod("p-a", "a", d, hash="oldhash")]
    out = plan(d, nodes, pods, NOW)
    assert out.delete == [] and out.create == ["b"]
    assert out.pod["metadata"]["labels"][REVISION_HASH] == current_hash(d)


def test_terminating_pod_blocks_a_new_one_on_its_node() -> None:
    d = ds()
    out = plan(d, [node("a")], [dpod("p-a", "a", d, deleting=True)], NOW)
    assert out.create == [] and out.delete == []
