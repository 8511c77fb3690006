"""HorizontalPodAutoscaler: defaults and the autoscaling/v1 <-> v2 conversion, pure (rules: validation/).

autoscaling/v1 has one metric, ``spec.targetCPUUtilizationPercentage`` (and
``status.currentCPUUtilizationPercentage``); it is CPU utilization in v2's ``metrics``. Converting
down drops what v1 cannot say (other metrics, ``behavior``, conditions): Kubernetes keeps them in
annotations, jetkube does not (a v1 reader sees the CPU target only).
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

DEFAULT_CPU_UTILIZATION = 80
METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
TARGET_TYPES = ("AverageValue", "Utilization", "Value")
POLICY_TYPES = ("Percent", "Pods")
SELECT_POLICIES = ("Disabled", "Max", "Min")
MAX_PERIOD = 1800
MAX_WINDOW = 3600

#: Kubernetes' default behavior: up at once by 4 pods or 100% per 15 s, whichever is more; down by
#: up to 100% per 15 s, to the highest recommendation of the last 5 minutes.
DEFAULT_UP: Obj = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
DEFAULT_DOWN: Obj = {
    "stabilizationWindowSeconds": 300,
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


def cpu_metric(utilization: int) -> Obj:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}},
    }


def defaults(obj: Obj) -> None:
    """minReplicas 1, CPU at 80% when no metric is given, and the default rules inside a behavior."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [cpu_metric(DEFAULT_CPU_UTILIZATION)]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction, default in (("scaleUp", DEFAULT_UP), ("scaleDown", DEFAULT_DOWN)):
            rules = behavior.setdefault(direction, {})
            if isinstance(rules, dict):
                for key, value in default.items():
                    if rules.get(key) is None:
                        rules[key] = copy.deepcopy(value)


def from_v1(obj: Obj) -> None:
    """autoscaling/v1 -> v2 (in place)."""
    spec = obj.get("spec")
    if isinstance(spec, dict):
        target = spec.pop("targetCPUUtilizationPercentage", None)
        if target is not None:
            spec["metrics"] = [cpu_metric(target)]
    status = obj.get("status")
    if isinstance(status, dict):
        current = status.pop("currentCPUUtilizationPercentage", None)
        if current is not None:
            status["currentMetrics"] = [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}}
            ]


def _cpu_utilization(metrics: list[Obj], key: str) -> int | None:
    for m in metrics or []:
        res = m.get("resource") or {}
        value = (res.get(key) or {}).get("averageUtilization")
        if m.get("type") == "Resource" and res.get("name") == "cpu" and value is not None:
            return int(value)
    return None


def to_v1(obj: Obj) -> None:
    """v2 -> autoscaling/v1 (in place): the CPU utilization target only."""
    spec = obj.get("spec")
    if isinstance(spec, dict):
        target = _cpu_utilization(spec.pop("metrics", None) or [], "target")
        spec.pop("behavior", None)
        if target is not None:
            spec["targetCPUUtilizationPercentage"] = target
    status = obj.get("status")
    if isinstance(status, dict):
        current = _cpu_utilization(status.pop("currentMetrics", None) or [], "current")
        status.pop("conditions", None)
        if current is not None:
            status["currentCPUUtilizationPercentage"] = current
