"""The FailedScheduling wording, exactly as kube-scheduler 1.2x prints it.

``FitError.Error()`` formats ``0/N nodes are available: <reasons>.`` where each reason is
``"<count> <reason>"`` and the list is sorted as strings (so ``"10 ..."`` sorts before ``"2 ..."``,
as Go's ``sort.Strings`` does). With no nodes at all the message is ``no nodes available to schedule
pods``.
"""

from __future__ import annotations

from collections import Counter

UNSCHEDULABLE = "node(s) were unschedulable"
NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
HOST_PORTS = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
NO_NODES = "no nodes available to schedule pods"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
POD_AFFINITY = "node(s) didn't match pod affinity rules"
POD_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
INTERPOD = (POD_AFFINITY, POD_ANTI_AFFINITY, EXISTING_ANTI_AFFINITY)  # interpod_failures' order
SPREAD_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
SPREAD_SKEW = "node(s) didn't match pod topology spread constraints"
SPREAD = (SPREAD_MISSING_LABEL, SPREAD_SKEW)  # spread_failures' order


def fit_error_message(num_nodes: int, reasons: Counter[str]) -> str:
    if num_nodes == 0:
        return NO_NODES
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items() if count)
    return f"0/{num_nodes} nodes are available: {', '.join(parts)}."
