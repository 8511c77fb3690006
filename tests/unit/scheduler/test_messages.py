"""The FailedScheduling message, formatted exactly as kube-scheduler's FitError."""

from __future__ import annotations

from collections import Counter

import pytest

from actors.scheduler.messages import fit_error_message

CASES = [
    (
        3,
        {"node(s) were unschedulable": 1, "Insufficient cpu": 2},
        "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.",
    ),
    (1, {"Insufficient memory": 1}, "0/1 nodes are available: 1 Insufficient memory."),
    # sorted as strings, count included, as Go's sort.Strings on "<count> <reason>"
    (
        12,
        {"Insufficient cpu": 10, "Too many pods": 2},
        "0/12 nodes are available: 10 Insufficient cpu, 2 Too many pods.",
    ),
    (
        2,
        {"Insufficient cpu": 2, "Insufficient memory": 2},
        "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.",
    ),
    (0, {}, "no nodes available to schedule pods"),
    (1, {"Insufficient cpu": 0, "Too many pods": 1}, "0/1 nodes are available: 1 Too many pods."),
]


@pytest.mark.parametrize(("num", "reasons", "message"), CASES)
def test_fit_error_message(num: int, reasons: dict[str, int], message: str) -> None:
    assert fit_error_message(num, Counter(reasons)) == message
