"""Where a Deployment's rollout stands: complete, progressing, past its deadline, old pods still up.

Pure predicates over a Deployment and its status (Kubernetes' ``deploymentutil``), used by
``plan.py`` to write the Progressing condition and to decide when to look at a Deployment again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from actors.deployment import conditions as dc
from actors.deployment import util as du
from actors.workload.podutil import meta, phase
from schemas.status import parse_time


def deployment_complete(deploy: dict[str, Any], status: dict[str, Any]) -> bool:
    replicas = du.replicas_of(deploy)
    return (
        int(status.get("updatedReplicas") or 0) == replicas
        and int(status.get("replicas") or 0) == replicas
        and int(status.get("availableReplicas") or 0) == replicas
        and int(status.get("observedGeneration") or 0) >= int(meta(deploy).get("generation") or 0)
    )


def deployment_progressing(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def get(s: dict[str, Any], k: str) -> int:
        return int(s.get(k) or 0)

    old_old = get(old, "replicas") - get(old, "updatedReplicas")
    new_old = get(new, "replicas") - get(new, "updatedReplicas")
    return (
        get(new, "updatedReplicas") > get(old, "updatedReplicas")
        or new_old < old_old
        or get(new, "readyReplicas") > get(old, "readyReplicas")
        or get(new, "availableReplicas") > get(old, "availableReplicas")
    )


def timed_out(deploy: dict[str, Any], status: dict[str, Any], now: datetime) -> bool:
    deadline = du.progress_deadline(deploy)
    cond = dc.get_condition(status, dc.PROGRESSING)
    if not deadline or cond is None:
        return False
    if cond.get("reason") == dc.TIMED_OUT:
        return True
    if cond.get("reason") == dc.NEW_RS_AVAILABLE:
        return False
    since = parse_time(cond.get("lastUpdateTime"))
    return since is not None and since + timedelta(seconds=deadline) < now


def stuck_requeue(deploy: dict[str, Any], status: dict[str, Any], now: datetime) -> float | None:
    """``requeueStuckDeployment``: when to check the progress deadline again, None if not needed."""
    deadline = du.progress_deadline(deploy)
    cond = dc.get_condition(status, dc.PROGRESSING)
    if not deadline or cond is None or du.spec(deploy).get("paused"):
        return None
    if deployment_complete(deploy, status) or cond.get("reason") in (dc.TIMED_OUT, dc.PAUSED):
        return None
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return None
    after = (since + timedelta(seconds=deadline) - now).total_seconds()
    return max(after, 0.0) + 0.5


def old_pods_running(
    new_rs: dict[str, Any] | None, old: list[dict[str, Any]], pods: list[dict[str, Any]]
) -> bool:
    """``oldPodsRunning``: any old RS still reports pods, or any pod of an old RS is not finished."""
    if du.sum_status(old, "replicas") > 0:
        return True
    old_uids = {meta(rs).get("uid") for rs in old}
    new_uid = meta(new_rs).get("uid") if new_rs is not None else None
    for pod in pods:
        refs = [r for r in meta(pod).get("ownerReferences") or [] if r.get("controller")]
        if not refs or refs[0].get("uid") == new_uid or refs[0].get("uid") not in old_uids:
            continue
        if phase(pod) not in ("Failed", "Succeeded"):
            return True
    return False
