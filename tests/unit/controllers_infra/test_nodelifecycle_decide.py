"""Node lifecycle decisions with a fake clock, and kubectl's drain filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.nodelifecycle.decide import (
    NETWORK_UNAVAILABLE,
    NOT_READY,
    UNREACHABLE,
    EvictPod,
    MarkPodNotReady,
    Settings,
    UpdateNode,
    UpdateNodeStatus,
    decide,
    decide_pods,
    format_time,
    orphaned_lease,
)
from actors.nodelifecycle.drain import plan_drain

T0 = datetime(2024, 1, 1, tzinfo=UTC)
S = Settings()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def node(
    status: str | None = "True",
    heartbeat: float = 0,
    taints: list[dict[str, Any]] | None = None,
    reason: str = "KubeletReady",
    transition: float = -100,
) -> dict[str, Any]:
    n: dict[str, Any] = {
        "metadata": {"name": "n1", "creationTimestamp": format_time(at(-1000)), "resourceVersion": "3"},
        "spec": {},
        "status": {"conditions": []},
    }
    if status is not None:
        n["status"]["conditions"].append(
            {
                "type": "Ready",
                "status": status,
                "reason": reason,
                "lastHeartbeatTime": format_time(at(heartbeat)),
                "lastTransitionTime": format_time(at(transition)),
            }
        )
    if taints is not None:
        n["spec"]["taints"] = taints
    return n


def taint(key: str, effect: str, added: float | None = None) -> dict[str, Any]:
    t = {"key": key, "effect": effect}
    if added is not None:
        t["timeAdded"] = format_time(at(added))
    return t


UNREACHABLE_TAINTS = [taint(UNREACHABLE, "NoExecute", 41), taint(UNREACHABLE, "NoSchedule")]


def kinds(actions: list) -> list[str]:
    return [type(a).__name__ for a in actions]


def test_fresh_node_untouched_and_rechecked_when_grace_ends() -> None:
    d = decide(node(heartbeat=0), at(10), S)
    assert d.actions == []
    assert d.recheck_after == pytest.approx(30, abs=0.01)


def test_stale_heartbeat_turns_unknown_and_taints() -> None:
    d = decide(node(heartbeat=0), at(41), S)
    assert kinds(d.actions) == ["UpdateNodeStatus", "UpdateNode"]
    [ready] = d.actions[0].node["status"]["conditions"]
    assert ready["status"] == "Unknown"
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert ready["lastHeartbeatTime"] == format_time(at(0))
    assert ready["lastTransitionTime"] == format_time(at(41))
    assert d.actions[1].node["spec"]["taints"] == UNREACHABLE_TAINTS


def test_already_unknown_and_tainted_no_write() -> None:
    n = node("Unknown", heartbeat=0, taints=UNREACHABLE_TAINTS, reason="NodeStatusUnknown", transition=41)
    assert decide(n, at(100), S).actions == []


def test_never_posted_uses_startup_grace() -> None:
    n = node(status=None)
    n["metadata"]["creationTimestamp"] = format_time(at(0))
    assert decide(n, at(59), S).actions == []
    assert kinds(decide(n, at(61), S).actions) == ["UpdateNodeStatus", "UpdateNode"]


def test_not_ready_gets_not_ready_taints_and_keeps_others() -> None:
    other = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    d = decide(node("False", heartbeat=0, taints=[other]), at(5), S)
    [update] = d.actions
    assert isinstance(update, UpdateNode)
    assert update.node["spec"]["taints"] == [
        other,
        taint(NOT_READY, "NoExecute", 5),
        taint(NOT_READY, "NoSchedule"),
    ]


def test_node_back_ready_loses_taints() -> None:
    d = decide(node("True", heartbeat=200, taints=UNREACHABLE_TAINTS), at(201), S)
    [update] = d.actions
    assert isinstance(update, UpdateNode)
    assert "taints" not in update.node["spec"]


def test_heartbeat_only_refresh_restores_ready() -> None:
    n = node("Unknown", heartbeat=200, taints=UNREACHABLE_TAINTS, reason="NodeStatusUnknown", transition=41)
    d = decide(n, at(201), S)
    assert kinds(d.actions) == ["UpdateNodeStatus", "UpdateNode"]
    assert d.actions[0].node["status"]["conditions"][0]["status"] == "True"
    assert "taints" not in d.actions[1].node["spec"]


def with_network(n: dict[str, Any], status: str) -> dict[str, Any]:
    n["status"]["conditions"].append({"type": "NetworkUnavailable", "status": status, "reason": "x"})
    return n


def test_network_unavailable_taints_no_schedule_and_keeps_others() -> None:
    other = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    d = decide(with_network(node("True", heartbeat=0, taints=[other]), "True"), at(5), S)
    [update] = d.actions
    assert isinstance(update, UpdateNode)
    assert update.node["spec"]["taints"] == [other, taint(NETWORK_UNAVAILABLE, "NoSchedule")]


def test_network_up_loses_the_taint_and_a_tainted_unavailable_node_needs_no_write() -> None:
    tainted = [taint(NETWORK_UNAVAILABLE, "NoSchedule")]
    d = decide(with_network(node("True", heartbeat=0, taints=tainted), "False"), at(5), S)
    [update] = d.actions
    assert "taints" not in update.node["spec"]
    assert decide(with_network(node("True", heartbeat=0, taints=tainted), "True"), at(5), S).actions == []


def test_not_ready_and_network_unavailable_together() -> None:
    d = decide(with_network(node("False", heartbeat=0), "True"), at(5), S)
    [update] = d.actions
    assert {(t["key"], t["effect"]) for t in update.node["spec"]["taints"]} == {
        (NOT_READY, "NoExecute"),
        (NOT_READY, "NoSchedule"),
        (NETWORK_UNAVAILABLE, "NoSchedule"),
    }


def test_input_not_modified() -> None:
    n = node(heartbeat=0)
    decide(n, at(100), S)
    assert n["status"]["conditions"][0]["status"] == "True"


def pod(name: str, ready: str = "True", **kw: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}"},
        "spec": {"nodeName": kw.pop("node", "n1")},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]},
    }
    if "tolerations" in kw:
        p["spec"]["tolerations"] = kw.pop("tolerations")
    p["metadata"].update(kw)
    return p


UNREACHABLE_NODE = node(
    "Unknown", heartbeat=0, taints=UNREACHABLE_TAINTS, reason="NodeStatusUnknown", transition=41
)
DS_REF = [{"kind": "DaemonSet", "name": "ds", "uid": "d", "controller": True}]


@pytest.mark.parametrize(
    ("pods", "now", "expected", "recheck"),
    [
        pytest.param([pod("a")], 50, ["MarkPodNotReady"], 291, id="marked-not-ready-before-timeout"),
        pytest.param([pod("a", ready="False")], 50, [], 291, id="already-not-ready"),
        pytest.param([pod("a", ready="False")], 342, ["EvictPod"], None, id="evicted-after-timeout"),
        pytest.param(
            [pod("a", ownerReferences=DS_REF)], 1000, ["MarkPodNotReady"], None, id="daemonset-kept"
        ),
        pytest.param(
            [pod("a", annotations={"kubernetes.io/config.mirror": "x"})],
            1000,
            ["MarkPodNotReady"],
            None,
            id="mirror-kept",
        ),
        pytest.param(
            [pod("a", tolerations=[{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}])],
            1000,
            ["MarkPodNotReady"],
            None,
            id="tolerates-forever",
        ),
        pytest.param(
            [
                pod(
                    "a",
                    ready="False",
                    tolerations=[{"key": UNREACHABLE, "operator": "Exists", "tolerationSeconds": 10}],
                )
            ],
            52,
            ["EvictPod"],
            None,
            id="own-toleration-seconds",
        ),
        pytest.param([pod("a", deletionTimestamp="t")], 1000, [], None, id="terminating-skipped"),
        pytest.param([pod("a", node="n2")], 1000, [], None, id="other-node"),
    ],
)
def test_decide_pods(pods: list[dict], now: float, expected: list[str], recheck: float | None) -> None:
    d = decide_pods(UNREACHABLE_NODE, pods, at(now), S)
    assert kinds(d.actions) == expected
    if recheck is None:
        assert d.recheck_after is None
    else:
        assert d.recheck_after == pytest.approx(recheck, abs=0.01)


def test_evict_action_and_not_ready_copy() -> None:
    [evict] = decide_pods(UNREACHABLE_NODE, [pod("a", ready="False")], at(400), S).actions
    assert evict == EvictPod("default", "a", "u-a")
    p = pod("a")
    [mark] = decide_pods(UNREACHABLE_NODE, [p], at(50), S).actions
    assert isinstance(mark, MarkPodNotReady)
    assert mark.pod["status"]["conditions"][0]["status"] == "False"
    assert p["status"]["conditions"][0]["status"] == "True"


def test_ready_node_pods_untouched() -> None:
    assert decide_pods(node(), [pod("a")], at(1000), S).actions == []


def test_unknown_node_is_update_status_first() -> None:
    assert isinstance(decide(node(), at(100), S).actions[0], UpdateNodeStatus)


# --- drain ---

RS_REF = [{"kind": "ReplicaSet", "name": "rs", "uid": "r", "controller": True}]


def dpod(name: str, **kw: Any) -> dict[str, Any]:
    p = pod(name, **{k: v for k, v in kw.items() if k not in ("volumes", "phase")})
    if "volumes" in kw:
        p["spec"]["volumes"] = kw["volumes"]
    if "phase" in kw:
        p["status"]["phase"] = kw["phase"]
    return p


def names(pods: list[dict]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_drain_managed_pods_evicted_mirror_skipped() -> None:
    pods = [
        dpod("a", ownerReferences=RS_REF),
        dpod("m", annotations={"kubernetes.io/config.mirror": "x"}),
        dpod("other", node="n2"),
    ]
    to_evict, errors = plan_drain("n1", pods)
    assert names(to_evict) == ["a"] and errors == []


def test_drain_errors_kubectl_texts() -> None:
    pods = [
        dpod("x"),
        dpod("y"),
        dpod("ds", ownerReferences=DS_REF),
        dpod("e", ownerReferences=RS_REF, volumes=[{"name": "v", "emptyDir": {}}]),
        dpod("done", phase="Succeeded"),
    ]
    plan = plan_drain("n1", pods)
    to_evict, errors = plan
    assert errors == [
        "cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet "
        "(use --force to override): default/x, default/y",
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/ds",
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): default/e",
    ]
    assert names(to_evict) == ["done"]


def test_drain_with_flags() -> None:
    pods = [
        dpod("x"),
        dpod("ds", ownerReferences=DS_REF),
        dpod("e", ownerReferences=RS_REF, volumes=[{"name": "v", "emptyDir": {}}]),
    ]
    plan = plan_drain(node(), pods, ignore_daemonsets=True, force=True, delete_emptydir_data=True)
    assert plan.errors == []
    assert names(plan.to_evict) == ["x", "e"]
    assert plan.warnings == [
        "deleting Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet: "
        "default/x",
        "ignoring DaemonSet-managed Pods: default/ds",
        "deleting Pods with local storage: default/e",
    ]


def test_a_deleted_nodes_lease_goes_with_it() -> None:
    owned = {"metadata": {"name": "n1", "ownerReferences": [{"kind": "Node", "name": "n1", "uid": "u1"}]}}
    assert orphaned_lease("n1", None, owned)
    assert not orphaned_lease("n1", node(), owned)  # the Node is there (maybe registered again)
    assert not orphaned_lease("n1", None, None)
    assert not orphaned_lease("n1", None, {"metadata": {"name": "n1"}})  # nobody's: left alone
