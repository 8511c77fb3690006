"""Pod facts every workload controller needs: active, ready, available, scale-down order, creation.

All functions read plain pod dicts (the API form) and never change them.
"""

from __future__ import annotations

import copy
import secrets
from datetime import datetime, timedelta
from typing import Any

from schemas.status import parse_time

# Kubernetes' ``rand.String`` alphabet: no vowels (no words), no 0/1/3 (confusable)
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATED_NAME = 63 - 5


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_ALPHANUMS) for _ in range(length))


def generate_name(prefix: str) -> str:
    """What the api does with ``generateName``: the prefix (cut to 58) plus 5 random characters."""
    return prefix[:_MAX_GENERATED_NAME] + random_suffix()


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def name_of(obj: dict[str, Any]) -> str:
    return str(meta(obj).get("name", ""))


def phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def is_terminating(obj: dict[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def is_active(pod: dict[str, Any]) -> bool:
    """``FilterActivePods``: not Succeeded or Failed, and not being deleted."""
    return phase(pod) not in ("Succeeded", "Failed") and not is_terminating(pod)


def ready_condition(pod: dict[str, Any]) -> dict[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond
    return None


def is_ready(pod: dict[str, Any]) -> bool:
    cond = ready_condition(pod)
    return bool(cond and cond.get("status") == "True")


def ready_since(pod: dict[str, Any]) -> datetime | None:
    cond = ready_condition(pod)
    if not cond or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def is_available(pod: dict[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    """``IsPodAvailable``: ready, and ready for at least ``minReadySeconds``."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) <= now


def available_in(pod: dict[str, Any], min_ready_seconds: int, now: datetime) -> float | None:
    """Seconds until a ready pod becomes available; None when it is not ready or already available."""
    if min_ready_seconds <= 0 or not is_ready(pod):
        return None
    since = ready_since(pod)
    if since is None:
        return None
    left = (since + timedelta(seconds=min_ready_seconds) - now).total_seconds()
    return left if left > 0 else None


def restart_count(pod: dict[str, Any]) -> int:
    status = pod.get("status") or {}
    total = 0
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            total += int(cs.get("restartCount") or 0)
    return total


def max_container_restarts(pod: dict[str, Any]) -> int:
    status = pod.get("status") or {}
    counts = [int(cs.get("restartCount") or 0) for cs in status.get("containerStatuses") or []]
    return max(counts, default=0)


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def _ts(value: str | None) -> float:
    moment = parse_time(value)
    return moment.timestamp() if moment else 0.0


def deletion_rank(pod: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key, smallest first, of the pods to delete first when scaling down (``ActivePods.Less``).

    Unassigned before assigned; Pending before Unknown before Running; not ready before ready;
    ready for less time before ready for longer; more restarts before fewer; newer before older.
    """
    assigned = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    phase_rank = _PHASE_RANK.get(phase(pod), 3)
    ready = 1 if is_ready(pod) else 0
    since = ready_since(pod)
    ready_for = -(since.timestamp()) if (ready and since) else 0.0  # later transition = ready for less
    created = _ts(meta(pod).get("creationTimestamp"))
    return (assigned, phase_rank, ready, ready_for, -max_container_restarts(pod), -created, name_of(pod))


def pods_to_delete(pods: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The ``count`` pods Kubernetes would delete first."""
    if count <= 0:
        return []
    return sorted(pods, key=deletion_rank)[:count]


def owner_reference(owner: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """A controller ownerReference to ``owner`` (controller and blockOwnerDeletion set)."""
    m = meta(owner)
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": m.get("name"),
        "uid": m.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_from_template(
    template: dict[str, Any],
    *,
    namespace: str,
    generate_prefix: str,
    owner_ref: dict[str, Any],
    extra_labels: dict[str, str] | None = None,
    extra_annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A new pod from a pod template (``GetPodFromTemplate``): template labels, annotations, spec.

    The pod carries ``generateName``; the controller names it when it creates it (see
    :func:`generate_name`) so that it does not depend on the api honouring ``generateName``.
    """
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    labels.update(extra_labels or {})
    annotations = dict(tmeta.get("annotations") or {})
    annotations.update(extra_annotations or {})
    metadata: dict[str, Any] = {
        "generateName": generate_prefix,
        "namespace": namespace,
        "labels": labels,
        "ownerReferences": [dict(owner_ref)],
    }
    if annotations:
        metadata["annotations"] = annotations
    if tmeta.get("finalizers"):
        metadata["finalizers"] = list(tmeta["finalizers"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
