"""``get hpa``'s columns, as Kubernetes (1.30 and later) prints them.

NAME   REFERENCE         TARGETS                         MINPODS   MAXPODS   REPLICAS   AGE
web    Deployment/web    cpu: 12%/50%, memory: 40Mi/1Gi  2         10        3          5m
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

Obj = dict[str, Any]
SHOWN_METRICS = 2  # kubectl's table shows two metrics, then "+ N more..."


def reference(obj: Obj) -> str:
    ref = (obj.get("spec") or {}).get("scaleTargetRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _current(statuses: list[Obj], i: int, name: str) -> Obj | None:
    if i < len(statuses):
        res = statuses[i].get("resource") or {}
        if res.get("name") == name:
            return res.get("current") or {}
    for status in statuses:  # statuses come in the spec's order; look up by name if not
        res = status.get("resource") or {}
        if status.get("type") == "Resource" and res.get("name") == name:
            return res.get("current") or {}
    return None


def targets(obj: Obj, limit: int = SHOWN_METRICS) -> str:
    """``cpu: 12%/50%``; ``cpu: <unknown>/50%`` before a sample; ``<none>`` with no metric."""
    metrics = (obj.get("spec") or {}).get("metrics") or []
    statuses = (obj.get("status") or {}).get("currentMetrics") or []
    parts = []
    for i, metric in enumerate(metrics):
        kind = metric.get("type")
        if kind != "Resource" or not metric.get("resource"):
            parts.append(f"<{str(kind or '').lower()}>")
            continue
        res = metric["resource"]
        name, target = res.get("name", ""), res.get("target") or {}
        current = _current(statuses, i, name)
        if target.get("averageValue") is not None:
            now = (current or {}).get("averageValue")
            parts.append(f"{name}: {now if now is not None else '<unknown>'}/{target['averageValue']}")
        else:
            value = (current or {}).get("averageUtilization")
            now = f"{value}%" if value is not None else "<unknown>"
            goal = target.get("averageUtilization")
            parts.append(f"{name}: {now}/{f'{goal}%' if goal is not None else '<auto>'}")
    if not parts:
        return "<none>"
    text = ", ".join(parts[:limit])
    if len(parts) > limit:
        text += f" + {len(parts) - limit} more..."
    return text


def min_pods(obj: Obj, _now: datetime) -> str:
    value = (obj.get("spec") or {}).get("minReplicas")
    return str(value) if value is not None else "<unset>"


def max_pods(obj: Obj, _now: datetime) -> str:
    return str((obj.get("spec") or {}).get("maxReplicas", ""))


def replicas(obj: Obj, _now: datetime) -> str:
    return str((obj.get("status") or {}).get("currentReplicas") or 0)
