"""A pod's status from what the engine reports about its containers. No I/O.

The kubelet gathers one :class:`ContainerView` per container (its current and previous Docker
instance, decoded; the termination messages; a waiting reason it decided, such as
CrashLoopBackOff or ErrImagePull; readiness from the probes) and :func:`compute_status` turns
them into ``status`` exactly as Kubernetes shapes it: containerStatuses with state/lastState,
initContainerStatuses, the phase (Kubernetes' ``getPhase``), and the conditions PodScheduled,
Initialized, ContainersReady and Ready. Fields the kubelet does not own (qosClass, nominatedNodeName,
...) are kept from the current status. Times come from the engine, so computing twice gives the same
dict and the kubelet writes only when something really changed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actors.kubelet.types import ContainerState
from schemas.status import format_time, set_condition

Obj = dict[str, Any]


@dataclass
class ContainerView:
    name: str
    image: str
    current: ContainerState | None = None
    current_message: str = ""
    previous: ContainerState | None = None
    previous_message: str = ""
    restart_count: int = 0
    waiting: tuple[str, str] | None = None  # (reason, message), when not running
    ready: bool = False
    started: bool | None = None


def _time(t: datetime | None) -> str | None:
    return format_time(t) if t is not None else None


def is_failed_start(cs: ContainerState) -> bool:
    """A container whose start failed (exec not found ...): created, never ran, with an error."""
    return not cs.running and cs.status == "created" and bool(cs.error)


def is_exited(cs: ContainerState) -> bool:
    return not cs.running and (cs.exit_code is not None or is_failed_start(cs))


def terminated_state(cs: ContainerState, message: str) -> Obj:
    if is_failed_start(cs):
        exit_code = cs.exit_code if cs.exit_code not in (None, 0) else 128
        reason, message = "ContainerCannotRun", message or cs.error
    else:
        exit_code = int(cs.exit_code or 0)
        reason = "OOMKilled" if cs.oom_killed else ("Completed" if exit_code == 0 else "Error")
    out: Obj = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": _time(cs.started_at) or _time(cs.created_at),
        "finishedAt": _time(cs.finished_at) or _time(cs.started_at) or _time(cs.created_at),
        "containerID": f"docker://{cs.id}",
    }
    if message:
        out["message"] = message
    return out


def container_status(view: ContainerView) -> Obj:
    cur = view.current
    state: Obj
    if cur is not None and cur.running:
        state = {"running": {"startedAt": _time(cur.started_at)}}
    elif cur is not None and is_exited(cur) and view.waiting is None:
        state = {"terminated": terminated_state(cur, view.current_message)}
    else:
        reason, message = view.waiting or ("ContainerCreating", "")
        state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
    last: Obj = {}
    if view.waiting is not None and cur is not None and is_exited(cur):
        last = {"terminated": terminated_state(cur, view.current_message)}
    elif view.previous is not None and is_exited(view.previous):
        last = {"terminated": terminated_state(view.previous, view.previous_message)}
    running = cur is not None and cur.running
    out: Obj = {
        "name": view.name,
        "state": state,
        "lastState": last,
        "ready": bool(view.ready and running),
        "restartCount": view.restart_count,
        "image": view.image,
        "imageID": f"docker://{cur.image_id}" if cur is not None and cur.image_id else "",
        "started": bool(running and (view.started is None or view.started)),
    }
    if cur is not None:
        out["containerID"] = f"docker://{cur.id}"
    return out


def _terminated(st: Obj) -> Obj | None:
    t = (st.get("state") or {}).get("terminated")
    return t if isinstance(t, dict) else None


def compute_phase(restart_policy: str, init_statuses: list[Obj], statuses: list[Obj]) -> str:
    """Kubernetes' getPhase over the computed container statuses."""
    for st in init_statuses:
        term = _terminated(st)
        if term is not None and term.get("exitCode") == 0:
            continue
        last = (st.get("lastState") or {}).get("terminated")
        failed = (term is not None and term.get("exitCode") != 0) or (
            last is not None and "waiting" in (st.get("state") or {})
        )
        if failed and restart_policy == "Never":
            return "Failed"
        return "Pending"
    running = waiting = stopped = succeeded = 0
    for st in statuses:
        state = st.get("state") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif "waiting" in state:
            if (st.get("lastState") or {}).get("terminated"):
                stopped += 1
            else:
                waiting += 1
    if waiting > 0:
        return "Pending"
    if running > 0:
        return "Running"
    if stopped > 0:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def compute_status(
    pod: Obj,
    init_views: list[ContainerView],
    views: list[ContainerView],
    *,
    pod_ip: str,
    host_ip: str,
    now: str,
    reason: str = "",
    message: str = "",
) -> Obj:
    old: Obj = copy.deepcopy(pod.get("status") or {})
    spec = pod.get("spec") or {}
    init_statuses = [container_status(v) for v in init_views]
    statuses = [container_status(v) for v in views]
    phase = compute_phase(str(spec.get("restartPolicy") or "Always"), init_statuses, statuses)
    status: Obj = {k: v for k, v in old.items() if k not in ("reason", "message")}
    status["phase"] = phase
    if host_ip:
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    status.setdefault("startTime", now)
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message

    conds = old.get("conditions") or []
    if not any(c.get("type") == "PodScheduled" for c in conds):
        conds = set_condition(conds, {"type": "PodScheduled", "status": "True"}, now=now)
    incomplete = [s["name"] for s in init_statuses if (_terminated(s) or {}).get("exitCode") != 0]
    if incomplete:
        init_cond = {
            "type": "Initialized",
            "status": "False",
            "reason": "ContainersNotInitialized",
            "message": f"containers with incomplete status: [{' '.join(incomplete)}]",
        }
    else:
        init_cond = {"type": "Initialized", "status": "True"}
    unready = [s["name"] for s in statuses if not s["ready"]]
    if phase in ("Succeeded", "Failed"):
        ready = {"status": "False", "reason": "PodCompleted"}
        cready = dict(ready)
    elif unready:
        msg = f"containers with unready status: [{' '.join(unready)}]"
        ready = {"status": "False", "reason": "ContainersNotReady", "message": msg}
        cready = dict(ready)
    else:
        ready = {"status": "True"}
        cready = {"status": "True"}
    conds = set_condition(conds, {"lastProbeTime": None, **init_cond}, now=now)
    conds = set_condition(conds, {"type": "ContainersReady", "lastProbeTime": None, **cready}, now=now)
    conds = set_condition(conds, {"type": "Ready", "lastProbeTime": None, **ready}, now=now)
    order = {"Initialized": 0, "Ready": 1, "ContainersReady": 2, "PodScheduled": 3}
    status["conditions"] = sorted(conds, key=lambda c: order.get(c.get("type", ""), 9))
    return status


def status_differs(old: Obj | None, new: Obj) -> bool:
    return (old or {}) != new
