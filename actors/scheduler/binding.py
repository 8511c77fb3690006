"""The objects the scheduler writes, built without I/O: a bound pod and an Unschedulable status.

Cached objects are read-only, so both are shallow copies with new ``spec``/``status`` mappings; the
nested objects they share with the cache are never mutated.
"""

from __future__ import annotations

from typing import Any

DEFAULT_SCHEDULER = "default-scheduler"
TERMINAL_PHASES = ("Succeeded", "Failed")

Obj = dict[str, Any]


def is_pending(pod: Obj, scheduler_name: str = DEFAULT_SCHEDULER) -> bool:
    """A pod this scheduler should place: unbound, ours, not being deleted, not finished."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return False
    if (spec.get("schedulerName") or DEFAULT_SCHEDULER) != scheduler_name:
        return False
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES


def is_bound(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES


def scheduled_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "PodScheduled":
            return cond
    return None


def _with_condition(pod: Obj, condition: Obj) -> Obj:
    status = dict(pod.get("status") or {})
    conditions = [c for c in status.get("conditions") or () if c.get("type") != "PodScheduled"]
    conditions.append(condition)
    status["conditions"] = conditions
    status.setdefault("phase", "Pending")
    return status


def bound_pod(pod: Obj, node_name: str, now: str) -> Obj:
    """The pod with ``spec.nodeName`` set and PodScheduled=True (the bind, written with CAS)."""
    new = dict(pod)
    new["metadata"] = dict(pod.get("metadata") or {})
    new["spec"] = {**(pod.get("spec") or {}), "nodeName": node_name}
    new["status"] = _with_condition(
        pod, {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
    )
    return new


def unschedulable_pod(pod: Obj, message: str, now: str) -> Obj | None:
    """The pod with PodScheduled=False/Unschedulable/message, or None if it already says so."""
    cond = scheduled_condition(pod)
    if (
        cond is not None
        and cond.get("status") == "False"
        and cond.get("reason") == "Unschedulable"
        and cond.get("message") == message
    ):
        return None
    new = dict(pod)
    new["metadata"] = dict(pod.get("metadata") or {})
    new["status"] = _with_condition(
        pod,
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": now,
        },
    )
    return new
