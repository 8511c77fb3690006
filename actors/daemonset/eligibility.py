"""Which nodes a DaemonSet's pod should run on (``NodeShouldRunDaemonPod``), per node, no I/O.

A node is *eligible* (``should_run``) when the pod template's ``nodeSelector`` and required node
affinity match it, and every NoSchedule/NoExecute taint on it is tolerated. A pod already there may
*stay* (``should_continue``) as long as the affinity matches and every NoExecute taint is tolerated:
a new NoSchedule taint keeps new pods away but evicts nothing. Cordon (``spec.unschedulable``)
does not matter, as in Kubernetes (DaemonSet pods tolerate ``node.kubernetes.io/unschedulable``).

DaemonSet pods get Kubernetes' default tolerations (:func:`daemon_tolerations`): not-ready and
unreachable (NoExecute), disk/memory/pid-pressure and unschedulable (NoSchedule), and
network-unavailable for host-network pods.
"""

from __future__ import annotations

from typing import Any

from actors.workload.podutil import meta
from schemas.affinity import REQUIRED, node_selector_matches

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"

_NO_EXECUTE_DEFAULTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
_NO_SCHEDULE_DEFAULTS = (
    "node.kubernetes.io/disk-pressure",
    "node.kubernetes.io/memory-pressure",
    "node.kubernetes.io/pid-pressure",
    "node.kubernetes.io/unschedulable",
)
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"


def daemon_tolerations(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod spec's tolerations plus the defaults every DaemonSet pod gets (no duplicates)."""
    tolerations = [dict(t) for t in pod_spec.get("tolerations") or []]
    wanted = [(k, NO_EXECUTE) for k in _NO_EXECUTE_DEFAULTS] + [
        (k, NO_SCHEDULE) for k in _NO_SCHEDULE_DEFAULTS
    ]
    if pod_spec.get("hostNetwork"):
        wanted.append((NETWORK_UNAVAILABLE, NO_SCHEDULE))
    for key, effect in wanted:
        if not any(t.get("key") == key and t.get("effect") == effect for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    return tolerations


def _tolerates(tol: dict[str, Any], taint: dict[str, Any]) -> bool:
    if tol.get("effect") and tol.get("effect") != taint.get("effect"):
        return False
    op = tol.get("operator") or "Equal"
    key = tol.get("key") or ""
    if not key:
        return op == "Exists"
    if key != taint.get("key"):
        return False
    if op == "Exists":
        return True
    return (tol.get("value") or "") == (taint.get("value") or "")


def untolerated(
    taints: list[dict[str, Any]], tolerations: list[dict[str, Any]], effects: tuple[str, ...]
) -> bool:
    return any(
        t.get("effect") in effects and not any(_tolerates(tol, t) for tol in tolerations) for t in taints
    )


def affinity_matches(pod_spec: dict[str, Any], node: dict[str, Any]) -> bool:
    """``nodeSelector`` (all pairs) and required node affinity (any term) against the node."""
    labels = meta(node).get("labels") or {}
    selector = pod_spec.get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(REQUIRED)
    return True if required is None else node_selector_matches(required, node)


def node_placement(pod_spec: dict[str, Any], node: dict[str, Any]) -> tuple[bool, bool]:
    """``(should_run, should_continue)`` of the DaemonSet's pod on ``node``."""
    if not affinity_matches(pod_spec, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = daemon_tolerations(pod_spec)
    should_continue = not untolerated(taints, tolerations, (NO_EXECUTE,))
    should_run = should_continue and not untolerated(taints, tolerations, (NO_SCHEDULE,))
    return should_run, should_continue
