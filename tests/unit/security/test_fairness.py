"""The api's fair queues as tables: round robin over flows, a depth per flow, a share of the
workers reserved for system flows (nodes, control plane)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from actors.api.fairness import FairQueues, flow_of


def drain(q: FairQueues) -> list[str]:
    out = []
    while (got := q.pop()) is not None:
        out.append(got[0])
    return out


def test_round_robin_over_flows_not_first_come() -> None:
    q = FairQueues(workers=4, reserved=1)
    for i in range(5):
        assert q.push("viewer", f"v{i}", False) is None
    assert q.push("node-n1", "heartbeat", True) is None
    assert q.push("bob", "b0", False) is None
    assert drain(q) == ["v0", "heartbeat", "b0", "v1", "v2", "v3", "v4"]


def test_a_flood_is_refused_at_its_flows_depth_only() -> None:
    q = FairQueues(workers=4, reserved=1, per_flow=3)
    assert [q.push("viewer", i, False) for i in range(4)] == [
        None,
        None,
        None,
        "3 requests of viewer are waiting",
    ]
    assert q.push("node-n1", "hb", True) is None  # others are still queued


def test_reserved_workers_serve_only_system_flows() -> None:
    q = FairQueues(workers=4, reserved=1)
    q.busy_users = 3  # every unreserved worker is busy with users' requests
    q.push("viewer", "v0", False)
    q.push("node-n1", "hb", True)
    assert q.pop() == ("hb", True)
    assert q.pop() is None  # the viewer waits for an unreserved worker
    q.busy_users = 2
    assert q.pop() == ("v0", False)


@pytest.mark.parametrize(
    ("subject", "reply", "flow"),
    [
        ("jetkube.api.u.viewer.list", "_INBOX.viewer.abc.1", ("viewer", False)),
        ("jetkube.api.u.node-n1.update", "_INBOX.node-n1.abc.1", ("node-n1", True)),
        ("jetkube.api.list", "_INBOX.controlplane.x.1", ("controlplane", True)),
        ("jetkube.api.list", "_INBOX.someone.1", ("someone", False)),  # auth on: not the control plane
    ],
)
def test_flows(subject: str, reply: str, flow: tuple[str, bool]) -> None:
    assert flow_of(SimpleNamespace(subject=subject, reply=reply)) == flow


def test_with_auth_off_each_connection_is_a_flow_held_to_no_depth() -> None:
    assert flow_of(SimpleNamespace(subject="jetkube.api.list", reply="_INBOX.Zr3.1"), auth=False) == (
        "Zr3",
        True,
    )


def test_system_flows_are_held_only_to_the_total() -> None:
    q = FairQueues(workers=4, reserved=1, per_flow=2, total=5)
    assert [q.push("controlplane", i, True) for i in range(6)] == [None] * 5 + ["5 requests are waiting"]
