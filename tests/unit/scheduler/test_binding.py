"""The objects the scheduler writes, and which pods it takes."""

from __future__ import annotations

import copy

import pytest

from actors.scheduler.binding import bound_pod, is_pending, unschedulable_pod

PENDING = [
    ("plain", {"spec": {}}, True),
    ("default-scheduler", {"spec": {"schedulerName": "default-scheduler"}}, True),
    ("other scheduler", {"spec": {"schedulerName": "my-scheduler"}}, False),
    ("bound", {"spec": {"nodeName": "a"}}, False),
    ("being deleted", {"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "spec": {}}, False),
    ("finished", {"spec": {}, "status": {"phase": "Succeeded"}}, False),
]


@pytest.mark.parametrize(("case", "pod", "expected"), PENDING, ids=[p[0] for p in PENDING])
def test_is_pending(case: str, pod: dict, expected: bool) -> None:
    assert is_pending(pod) is expected


def test_bound_pod_does_not_touch_the_cached_object() -> None:
    pod = {
        "metadata": {"name": "p", "resourceVersion": "7"},
        "spec": {"containers": []},
        "status": {"phase": "Pending"},
    }
    before = copy.deepcopy(pod)
    new = bound_pod(pod, "node-1", "2024-01-01T00:00:00Z")
    assert pod == before
    assert new["spec"]["nodeName"] == "node-1" and new["metadata"]["resourceVersion"] == "7"
    assert new["status"]["conditions"] == [
        {
            "type": "PodScheduled",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": "2024-01-01T00:00:00Z",
        }
    ]


def test_unschedulable_written_once_per_message() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {}}
    first = unschedulable_pod(pod, "0/1 nodes are available: 1 Insufficient cpu.", "t")
    assert first is not None
    cond = first["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert unschedulable_pod(first, "0/1 nodes are available: 1 Insufficient cpu.", "t2") is None
    assert unschedulable_pod(first, "0/2 nodes are available: 2 Insufficient cpu.", "t2") is not None
