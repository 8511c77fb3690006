"""The api's priority levels as tables: classification (Kubernetes' default FlowSchemas), a list's
width by the objects it reads, round robin over flows within a level, a depth per user flow, and
seats: a level never lends its seats, so a flood in one cannot take another's."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from actors.api.fairness import flow_of
from actors.api.fairness_levels import (
    CATCH_ALL,
    GLOBAL_DEFAULT,
    LEADER_ELECTION,
    MAX_WIDTH,
    SYSTEM_NODES,
    WORKLOAD_HIGH,
    Level,
    classify,
    make_levels,
    width,
)


def drain(level: Level) -> list[str]:
    out = []
    while (got := level.pop()) is not None:
        out.append(got[0])
        level.release(got[1])
    return out


def test_round_robin_over_flows_not_first_come() -> None:
    level = Level("global-default", seats=4)
    for i in range(5):
        assert level.push("viewer", f"v{i}", 1, False) is None
    assert level.push("alice", "a0", 1, False) is None
    assert level.push("bob", "b0", 1, False) is None
    assert drain(level) == ["v0", "a0", "b0", "v1", "v2", "v3", "v4"]


def test_a_flood_is_refused_at_its_flows_depth_only() -> None:
    level = Level("global-default", seats=4, per_flow=3)
    assert [level.push("viewer", i, 1, False) for i in range(4)] == [
        None,
        None,
        None,
        "3 requests of viewer are waiting in priority level global-default",
    ]
    assert level.push("alice", "a", 1, False) is None  # others are still queued


def test_a_level_serves_no_more_than_its_seats() -> None:
    level = Level("global-default", seats=4)
    for i in range(3):
        level.push("viewer", f"list{i}", 4, False)  # each list takes every seat
    assert level.pop() == ("list0", 4)
    assert level.pop() is None  # the next list waits for the seats
    level.release(4)
    assert level.pop() == ("list1", 4)


def test_a_wide_request_keeps_its_turn_before_narrow_ones() -> None:
    level = Level("global-default", seats=4)
    level.push("viewer", "get0", 1, False)
    level.push("alice", "list", 4, False)
    level.push("viewer", "get1", 1, False)
    assert level.pop() == ("get0", 1)
    assert level.pop() is None  # alice's list is next and needs all four seats
    level.release(1)
    assert level.pop() == ("list", 4)


def test_a_viewers_flood_leaves_the_nodes_their_own_seats() -> None:
    levels = make_levels(16)
    users, nodes = levels[GLOBAL_DEFAULT], levels[SYSTEM_NODES]
    for i in range(50):
        users.push("viewer", f"list{i}", MAX_WIDTH, False)
    while users.pop() is not None:
        pass
    assert users.in_use <= users.seats
    for i in range(nodes.seats):
        assert nodes.push(f"node-n{i}", f"renew{i}", 1, True) is None
    assert [nodes.pop() is not None for _ in range(nodes.seats)] == [True] * nodes.seats


NODE_LEASE = {"resource": "leases", "namespace": "kube-node-lease"}


@pytest.mark.parametrize(
    ("flow", "is_system", "verb", "payload", "level"),
    [
        ("node-n1", True, "update", {"resource": "nodes"}, SYSTEM_NODES),
        ("node-n1", True, "update", NODE_LEASE, SYSTEM_NODES),
        # the hollow fleet renews its nodes' Leases under the control plane's name
        ("controlplane", True, "update", NODE_LEASE, SYSTEM_NODES),
        ("controlplane", True, "update", {"resource": "leases", "namespace": "kube-system"}, LEADER_ELECTION),
        ("controlplane", True, "list", {"resource": "pods"}, WORKLOAD_HIGH),
        ("viewer", False, "list", {"resource": "pods"}, GLOBAL_DEFAULT),
        # a user may not pass for a node by writing a node's Lease
        ("viewer", False, "update", NODE_LEASE, GLOBAL_DEFAULT),
        ("unknown", False, "get", {}, CATCH_ALL),
    ],
)
def test_classify(flow: str, is_system: bool, verb: str, payload: dict, level: str) -> None:
    assert classify(flow, is_system, verb, payload) == level


@pytest.mark.parametrize(
    ("verb", "objects", "seats", "expected"),
    [
        ("get", 10_000, 8, 1),
        ("update", 0, 8, 1),
        ("list", 0, 8, 1),
        ("list", 150, 8, 2),
        ("list", 10_000, 32, MAX_WIDTH),
        ("list", 10_000, 4, 4),  # never more than the level has
        ("watch", 10_000, 4, 4),  # a watch's initial list costs as a list
    ],
)
def test_width_by_objects_read(verb: str, objects: int, seats: int, expected: int) -> None:
    assert width(verb, objects, seats) == expected


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



@pytest.mark.parametrize(
    ("requester", "impersonate", "flow"),
    [
        # the HTTPS gateway speaks as the control plane on behalf of its HTTP user: the user's flow
        ("controlplane", {"user": "viewer", "groups": ["view"]}, ("viewer", False)),
        ("controlplane", {"user": "node-n1", "groups": []}, ("node-n1", True)),
        ("controlplane", None, ("controlplane", True)),
        # a user's own --as does not make it anyone else's flow
        ("viewer", {"user": "controlplane", "groups": []}, ("viewer", False)),
    ],
)
def test_a_request_made_for_an_impersonated_user_is_in_that_users_flow(
    requester: str, impersonate: dict[str, object] | None, flow: tuple[str, bool]
) -> None:
    msg = SimpleNamespace(subject=f"jetkube.api.u.{requester}.create", reply=f"_INBOX.{requester}.x.1")
    payload = {"resource": "configmaps", **({"impersonate": impersonate} if impersonate else {})}
    assert flow_of(msg, payload=payload) == flow

def test_with_auth_off_each_connection_is_a_flow_held_to_no_depth() -> None:
    assert flow_of(SimpleNamespace(subject="jetkube.api.list", reply="_INBOX.Zr3.1"), auth=False) == (
        "Zr3",
        True,
    )


def test_system_flows_are_held_only_to_the_total() -> None:
    level = Level("workload-high", seats=4, per_flow=2, total=5)
    assert [level.push("controlplane", i, 1, True) for i in range(6)] == [None] * 5 + [
        "5 requests are waiting in priority level workload-high"
    ]
