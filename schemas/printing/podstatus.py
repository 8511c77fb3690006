"""A pod's READY, STATUS and RESTARTS columns, computed as kubectl's ``printPod`` computes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.printing.age import age


def _state(status: dict[str, Any], which: str = "state") -> dict[str, Any]:
    return status.get(which) or {}


def pod_status_reason(pod: dict[str, Any]) -> str:
    """The STATUS column: phase, refined by init containers, container states and deletion."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"

    initializing = False
    init_specs = spec.get("initContainers") or []
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = _state(cs)
        term = state.get("terminated")
        waiting = state.get("waiting")
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if term is not None:
            if not term.get("reason"):
                if term.get("signal"):
                    reason = f"Init:Signal:{term['signal']}"
                else:
                    reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
            else:
                reason = "Init:" + term["reason"]
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = _state(cs)
            waiting = state.get("waiting")
            term = state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                if term.get("signal"):
                    reason = f"Signal:{term['signal']}"
                else:
                    reason = f"ExitCode:{term.get('exitCode', 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status, "Ready") else "NotReady"

    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return str(reason)


def _condition_true(status: dict[str, Any], ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in status.get("conditions") or [])


def pod_ready(pod: dict[str, Any]) -> str:
    """The READY column: ready containers / containers."""
    total = len((pod.get("spec") or {}).get("containers") or [])
    ready = sum(
        1
        for cs in (pod.get("status") or {}).get("containerStatuses") or []
        if cs.get("ready") and _state(cs).get("running") is not None
    )
    return f"{ready}/{total}"


def pod_restarts(pod: dict[str, Any], now: datetime) -> str:
    """The RESTARTS column: ``3`` or, as kubectl 1.22+, ``3 (45s ago)``."""
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    inits = status.get("initContainerStatuses") or []
    initializing = any(
        (_state(cs).get("terminated") or {"exitCode": 1}).get("exitCode", 0) != 0 for cs in inits
    )
    counted = inits if initializing else statuses
    restarts = sum(int(cs.get("restartCount") or 0) for cs in counted)
    last = None
    for cs in counted:
        finished = (_state(cs, "lastState").get("terminated") or {}).get("finishedAt")
        if finished and (last is None or str(finished) > str(last)):
            last = finished
    if restarts and last:
        return f"{restarts} ({age(last, now)} ago)"
    return str(restarts)


def readiness_gates(pod: dict[str, Any]) -> str:
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    if not gates:
        return "<none>"
    conds = {c.get("type"): c.get("status") for c in (pod.get("status") or {}).get("conditions") or []}
    ready = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
    return f"{ready}/{len(gates)}"
