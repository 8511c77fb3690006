"""Deployment facts, as Kubernetes' ``deployment/util``: strategy numbers, revisions, RS sums.

Missing fields take the apps/v1 defaults (replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit
10, progressDeadlineSeconds 600), so the functions also work on objects the api did not default.
"""

from __future__ import annotations

from typing import Any

from actors.workload.intstr import scaled_value
from actors.workload.podutil import meta
from schemas.status import parse_time

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# annotations of the Deployment that are not copied to its ReplicaSets
_NOT_COPIED = {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS}

DEFAULT_SURGE = "25%"
DEFAULT_UNAVAILABLE = "25%"
DEFAULT_HISTORY_LIMIT = 10
DEFAULT_PROGRESS_DEADLINE = 600


def spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("spec") or {}


def replicas_of(obj: dict[str, Any]) -> int:
    value = spec(obj).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: dict[str, Any], field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def strategy_type(deploy: dict[str, Any]) -> str:
    return str((spec(deploy).get("strategy") or {}).get("type") or "RollingUpdate")


def is_rolling(deploy: dict[str, Any]) -> bool:
    return strategy_type(deploy) == "RollingUpdate"


def resolve_fenceposts(surge: Any, unavailable: Any, desired: int) -> tuple[int, int]:
    """``ResolveFenceposts``: surge rounds up, unavailable rounds down; both 0 -> unavailable 1."""
    s = scaled_value(surge, desired, round_up=True, default=DEFAULT_SURGE)
    u = scaled_value(unavailable, desired, round_up=False, default=DEFAULT_UNAVAILABLE)
    if s == 0 and u == 0:
        u = 1
    return s, u


def _rolling(deploy: dict[str, Any]) -> dict[str, Any]:
    return (spec(deploy).get("strategy") or {}).get("rollingUpdate") or {}


def max_surge(deploy: dict[str, Any]) -> int:
    if not is_rolling(deploy):
        return 0
    ru = _rolling(deploy)
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas_of(deploy))[0]


def max_unavailable(deploy: dict[str, Any]) -> int:
    replicas = replicas_of(deploy)
    if not is_rolling(deploy) or replicas == 0:
        return 0
    ru = _rolling(deploy)
    unavailable = resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas)[1]
    return min(unavailable, replicas)


def history_limit(deploy: dict[str, Any]) -> int | None:
    value = spec(deploy).get("revisionHistoryLimit", DEFAULT_HISTORY_LIMIT)
    return None if value is None else int(value)


def progress_deadline(deploy: dict[str, Any]) -> int | None:
    value = spec(deploy).get("progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE)
    if value is None or int(value) >= 2**31 - 1:
        return None
    return int(value)


def revision_of(obj: dict[str, Any]) -> int:
    try:
        return int((meta(obj).get("annotations") or {}).get(REVISION) or 0)
    except ValueError:
        return 0


def max_revision(rses: list[dict[str, Any]]) -> int:
    return max((revision_of(rs) for rs in rses), default=0)


def annotation_int(obj: dict[str, Any], key: str) -> int | None:
    try:
        value = (meta(obj).get("annotations") or {}).get(key)
        return None if value is None else int(value)
    except ValueError:
        return None


def created_key(obj: dict[str, Any]) -> tuple[float, str]:
    moment = parse_time(meta(obj).get("creationTimestamp"))
    return (moment.timestamp() if moment else 0.0, str(meta(obj).get("name", "")))


def copied_annotations(deploy: dict[str, Any]) -> dict[str, str]:
    """The Deployment's annotations that its ReplicaSets carry too (change-cause among them)."""
    return {k: v for k, v in (meta(deploy).get("annotations") or {}).items() if k not in _NOT_COPIED}


def sum_spec(rses: list[dict[str, Any]]) -> int:
    return sum(replicas_of(rs) for rs in rses)


def sum_status(rses: list[dict[str, Any]], field: str) -> int:
    return sum(status_int(rs, field) for rs in rses)


def selector_of(deploy: dict[str, Any]) -> dict[str, Any]:
    """``spec.selector``; a Deployment without one (extensions/v1beta1) selects its template labels."""
    selector = spec(deploy).get("selector")
    if selector:
        return selector
    labels = ((spec(deploy).get("template") or {}).get("metadata") or {}).get("labels") or {}
    return {"matchLabels": dict(labels)}
