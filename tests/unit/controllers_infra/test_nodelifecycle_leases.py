"""Node heartbeats as Leases: the controller reads the Lease's renewTime beside the Ready condition,
and the kubelet writes its Node status only on a change or every 5 minutes (node_lease.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.kubelet.node_lease import (
    NAMESPACE,
    STATUS_REPORT_INTERVAL,
    lease_object,
    micro_time,
    renewed,
    status_due,
)
from actors.nodelifecycle.decide import UNKNOWN_REASON, Settings, UpdateNodeStatus, decide, format_time

T0 = datetime(2024, 1, 1, tzinfo=UTC)
S = Settings()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def node(
    status: str = "True", heartbeat: float = 0, reason: str = "KubeletReady", transition: float = -100
) -> Any:
    return {
        "metadata": {"name": "n1", "creationTimestamp": format_time(at(-1000))},
        "spec": {},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": status,
                    "reason": reason,
                    "lastHeartbeatTime": format_time(at(heartbeat)),
                    "lastTransitionTime": format_time(at(transition)),
                }
            ]
        },
    }


def lease(renew: float) -> dict[str, Any]:
    return lease_object("n1", at(renew))


@pytest.mark.parametrize(
    ("heartbeat", "renew", "now", "unknown"),
    [
        (0, None, 30, False),  # condition fresh, no lease
        (0, None, 41, True),  # condition stale, no lease
        (0, 35, 41, False),  # condition stale, lease renewed 6 s ago: alive
        (0, 35, 76, True),  # both stale
        (60, 10, 90, False),  # condition newer than the lease
    ],
)
def test_a_node_is_alive_while_either_heartbeat_is_fresh(
    heartbeat: float, renew: float | None, now: float, unknown: bool
) -> None:
    d = decide(node(heartbeat=heartbeat), at(now), S, lease(renew) if renew is not None else None)
    went_unknown = any(isinstance(a, UpdateNodeStatus) for a in d.actions)
    assert went_unknown == unknown


def test_a_renewed_lease_brings_an_unknown_node_back() -> None:
    n = node(status="Unknown", heartbeat=0, reason=UNKNOWN_REASON, transition=50)
    d = decide(n, at(70), S, lease(65))
    (action,) = [a for a in d.actions if isinstance(a, UpdateNodeStatus)]
    ready = action.node["status"]["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")


def test_lease_object_and_renewal() -> None:
    owner = {"metadata": {"name": "n1", "uid": "u-1"}}
    obj = lease_object(owner, at(0))
    assert obj["metadata"] == {
        "name": "n1",
        "namespace": NAMESPACE,
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "u-1"}],
    }
    assert obj["spec"] == {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": micro_time(at(0))}
    assert renewed(obj, at(10))["spec"]["renewTime"] == "2024-01-01T00:00:10.000000Z"
    assert obj["spec"]["renewTime"] == "2024-01-01T00:00:00.000000Z"  # the input is not changed


def _status(ready: str, beat: str) -> dict[str, Any]:
    return {
        "conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": beat}],
        "capacity": {"pods": "110"},
    }


@pytest.mark.parametrize(
    ("last", "new", "written_at", "now", "due"),
    [
        (None, _status("True", "b"), None, 0, True),  # never written
        (_status("True", "a"), _status("True", "b"), 0, 10, False),  # only the heartbeat moved
        (_status("True", "a"), _status("False", "b"), 0, 10, True),  # Ready changed
        (_status("True", "a"), _status("True", "b"), 0, STATUS_REPORT_INTERVAL, True),  # 5 min passed
    ],
)
def test_node_status_is_written_on_change_or_every_five_minutes(
    last: Any, new: Any, written_at: float | None, now: float, due: bool
) -> None:
    assert status_due(last, new, written_at, now) is due
