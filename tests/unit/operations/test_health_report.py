"""Health reports and component statuses: state in, rows out (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from actors.health.agent import process_key
from actors.health.report import component_statuses, leaders, process_report, verdict


@dataclass
class Child:
    name: str
    restarts: int = 0
    last_error: str = ""
    backing_off: bool = False


NOW = 1_000_000.0


def report(pid: str, *, role: str = "kubelet", healthy: bool = True, time: float = NOW) -> dict:
    return {
        "id": pid,
        "role": role,
        "identity": pid,
        "healthy": healthy,
        "time": time,
        "message": "ok: 3 tasks running" if healthy else "task x is restarting (boom)",
        "build": "b",
    }


@pytest.mark.parametrize(
    ("children", "healthy", "words"),
    [
        ([Child("a"), Child("b")], True, "ok: 2 tasks running"),
        ([Child("a", restarts=2), Child("b")], True, "2 restarts so far"),
        (
            [Child("a", 1, "ValueError: bad", True), Child("b")],
            False,
            "task a is restarting (ValueError: bad)",
        ),
        ([Child("a", 1, "E: 1", True), Child("b", 1, "E: 2", True)], False, "and 1 more"),
    ],
)
def test_a_process_is_unhealthy_only_while_a_task_waits_to_restart(
    children: list[Child], healthy: bool, words: str
) -> None:
    r = process_report(process_id="p", role="kubelet", identity="p", children=children, started_at=0, now=NOW)
    assert r["healthy"] is healthy
    assert words in r["message"]
    assert verdict(r["tasks"]) == (healthy, r["message"])


def test_rows_join_live_answers_heartbeats_and_leases() -> None:
    live = {"cp1": report("cp1", role="controlplane"), "kubelet-n1": report("kubelet-n1")}
    beats = {
        "cp1": report("cp1", role="controlplane", time=NOW - 3),
        "cp2": report("cp2", role="controlplane", time=NOW - 12),
        "kubelet-n2": {**report("kubelet-n2", time=NOW - 100), "stopped": True},
        "kubelet-n3": report("kubelet-n3", time=NOW - 400),
    }
    rows = {
        r.name: r for r in component_statuses(live, beats, {"kube-scheduler": "cp1"}, stale_after=30, now=NOW)
    }
    assert rows["cp1"].healthy and rows["cp1"].leader_of == ("kube-scheduler",)
    assert rows["cp1"].age(NOW) == "0s"  # the live answer is the latest sign of life
    assert not rows["cp2"].healthy and rows["cp2"].message == "no answer"
    assert rows["cp2"].age(NOW) == "12s"
    assert rows["kubelet-n2"].message == "stopped" and not rows["kubelet-n2"].error
    assert (
        rows["kubelet-n3"].message == "no answer (heartbeats stopped)" and rows["kubelet-n3"].age(NOW) == "6m"
    )
    assert [r.name for r in component_statuses(live, beats, {}, stale_after=30, now=NOW)][:2] == [
        "cp1",
        "cp2",
    ]


def test_leaders_skip_expired_leases() -> None:
    def lease(name: str, holder: str, renew: str) -> dict:
        return {
            "metadata": {"name": name},
            "spec": {"holderIdentity": holder, "renewTime": renew, "leaseDurationSeconds": 15},
        }

    now = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    fresh = lease("kube-scheduler", "cp1", "2027-01-15T07:59:55.000000Z")
    old = lease("job-controller", "cp2", "2027-01-15T07:50:00.000000Z")
    assert leaders([fresh, old, {"metadata": {"name": "x"}, "spec": {}}], now) == {"kube-scheduler": "cp1"}


def test_process_keys_are_one_subject_token() -> None:
    assert process_key("kubelet-node.example.com") == "kubelet-node_example_com"
    assert process_key("controlplane1") == "controlplane1"
