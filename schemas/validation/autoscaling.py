"""HorizontalPodAutoscaler rules (Kubernetes' apis/autoscaling/validation), in its words."""

from __future__ import annotations

from typing import Any

from schemas import names
from schemas.autoscaling import (
    MAX_PERIOD,
    MAX_WINDOW,
    METRIC_TYPES,
    POLICY_TYPES,
    SELECT_POLICIES,
    TARGET_TYPES,
)
from schemas.errors import FieldError
from schemas.validation.errors import invalid, required, unsupported
from schemas.validation.meta import object_meta_errors

Obj = dict[str, Any]


def errors(obj: Obj, out: list[FieldError]) -> None:
    """Every broken rule of an HPA."""
    object_meta_errors(
        obj.get("metadata"), namespaced=True, name_check=names.dns1123_subdomain_errors, out=out
    )
    spec = obj.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    for field in ("kind", "name"):
        if not ref.get(field):
            out.append(required(f"spec.scaleTargetRef.{field}"))
    low = spec.get("minReplicas")
    high = spec.get("maxReplicas")
    if low is not None and low < 1:
        out.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    if high is None:
        out.append(required("spec.maxReplicas"))
    elif low is not None and high < low:
        out.append(invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))
    for i, metric in enumerate(spec.get("metrics") or []):
        _metric_errors(metric, f"spec.metrics[{i}]", out)
    behavior = spec.get("behavior") or {}
    for direction in ("scaleUp", "scaleDown"):
        rules = behavior.get(direction)
        if rules:
            _rules_errors(rules, f"spec.behavior.{direction}", out)


def _metric_errors(metric: Obj, path: str, out: list[FieldError]) -> None:
    kind = metric.get("type")
    if kind not in METRIC_TYPES:
        out.append(unsupported(f"{path}.type", kind, METRIC_TYPES) if kind else required(f"{path}.type"))
        return
    if kind != "Resource":
        return
    res = metric.get("resource")
    if not res:
        out.append(required(f"{path}.resource", "must populate information for the given metric source"))
        return
    if not res.get("name"):
        out.append(required(f"{path}.resource.name", "must specify a resource name"))
    target = res.get("target") or {}
    ttype = target.get("type")
    if ttype not in TARGET_TYPES:
        out.append(unsupported(f"{path}.resource.target.type", ttype, TARGET_TYPES))
    elif ttype == "Utilization":
        value = target.get("averageUtilization")
        if value is None:
            out.append(required(f"{path}.resource.target.averageUtilization"))
        elif value <= 0:
            out.append(invalid(f"{path}.resource.target.averageUtilization", value, "must be greater than 0"))
    elif ttype == "AverageValue" and target.get("averageValue") is None:
        out.append(required(f"{path}.resource.target.averageValue"))
    elif ttype == "Value" and target.get("value") is None:
        out.append(required(f"{path}.resource.target.value"))


def _rules_errors(rules: Obj, path: str, out: list[FieldError]) -> None:
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and not 0 <= window <= MAX_WINDOW:
        out.append(
            invalid(
                f"{path}.stabilizationWindowSeconds", window, f"must be less than or equal to {MAX_WINDOW}"
            )
        )
    select = rules.get("selectPolicy")
    if select is not None and select not in SELECT_POLICIES:
        out.append(unsupported(f"{path}.selectPolicy", select, SELECT_POLICIES))
    for i, policy in enumerate(rules.get("policies") or []):
        p = f"{path}.policies[{i}]"
        if policy.get("type") not in POLICY_TYPES:
            out.append(unsupported(f"{p}.type", policy.get("type"), POLICY_TYPES))
        value = policy.get("value")
        if value is None or value <= 0:
            out.append(invalid(f"{p}.value", value, "must be greater than zero"))
        period = policy.get("periodSeconds")
        if period is None or period <= 0:
            out.append(invalid(f"{p}.periodSeconds", period, "must be greater than zero"))
        elif period > MAX_PERIOD:
            out.append(invalid(f"{p}.periodSeconds", period, f"must be less than or equal to {MAX_PERIOD}"))
