"""The HorizontalPodAutoscaler's decision, pure: metrics and history in, desired replicas out.

Kubernetes' algorithm (pkg/controller/podautoscaler, replica_calculator.go and horizontal.go):

1. Per metric (:func:`resource_proposal`): the pods of the target are grouped into ready pods with
   a sample, unready pods (CPU only: a pod that is not Ready is not counted as busy) and pods with
   no sample. ``ratio = utilization / target`` over the ready pods with samples. Within the 10%
   tolerance nothing changes; else ``desired = ceil(ratio × ready)``. With missing samples the
   ratio is recomputed assuming they use 100% of their request when scaling down and 0% when
   scaling up (and unready pods 0% when scaling up), and a recomputation that flips the direction
   or lands inside the tolerance keeps the current count: missing data never amplifies a change.
2. Across metrics, the largest proposal wins (:func:`recommend`).
3. :func:`normalize` bounds it: stabilization windows (scale down to the highest recommendation of
   the last ``scaleDown.stabilizationWindowSeconds``, default 300 s; scale up to the lowest of the
   ``scaleUp`` window, default 0 s), then the rate policies (``Pods``/``Percent`` per
   ``periodSeconds``, chosen with ``selectPolicy`` Max/Min/Disabled) over the scale events of their
   periods, then ``minReplicas``/``maxReplicas``.

An HPA without ``behavior`` gets Kubernetes' default behavior (:data:`DEFAULT_UP`, :data:`DEFAULT_DOWN`);
Kubernetes' own path for that case (up to max(2×, 4), a 5 minute down window) gives the same
answers except that it allows 4 pods *or* double per 15 s from a standing start, which the
defaults' two policies also give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.autoscaling import DEFAULT_DOWN, DEFAULT_UP

TOLERANCE = 0.1
MAX_INT32 = 2**31 - 1


@dataclass(frozen=True)
class PodSample:
    """One pod of the target: its request and usage of the metric's resource (None: no sample)."""

    name: str
    ready: bool
    request: float  # CPU millicores or memory bytes; 0: the pod requests none
    usage: float | None


@dataclass(frozen=True)
class Proposal:
    replicas: int
    utilization: int | None  # percent of request, as status.currentMetrics reports it
    average: float  # average usage per pod with a sample


class MetricError(Exception):
    """The metric cannot be computed (reason, message): the HPA's ScalingActive turns False."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def resource_proposal(
    current: int,
    pods: Sequence[PodSample],
    target_utilization: int | None,
    target_average: float | None,
    resource: str = "cpu",
) -> Proposal:
    """Desired replicas for one resource metric (utilization in percent, or an average value)."""
    with_sample = [p for p in pods if p.usage is not None]
    if not with_sample:
        raise MetricError(
            "FailedGetResourceMetric", f"unable to get metrics for resource {resource}: no metrics returned"
        )
    if target_utilization is not None and any(p.request <= 0 for p in pods):
        raise MetricError("FailedGetResourceMetric", f"missing request for {resource}")
    ignore_unready = resource == "cpu"
    ready = [p for p in with_sample if p.ready or not ignore_unready]
    unready = [p for p in with_sample if not (p.ready or not ignore_unready)]
    missing = [p for p in pods if p.usage is None]
    if not ready:
        raise MetricError(
            "FailedGetResourceMetric", f"unable to get metrics for resource {resource}: no ready pods"
        )

    def ratio_of(samples: Sequence[tuple[float, float]]) -> tuple[float, int | None, float]:
        usage = sum(u for u, _ in samples)
        average = usage / len(samples)
        if target_utilization is not None:
            requests = sum(r for _, r in samples)
            utilization = usage * 100 / requests
            return utilization / target_utilization, int(utilization), average
        assert target_average is not None
        return average / target_average, None, average

    base = [(float(p.usage or 0), p.request) for p in ready]
    ratio, utilization, average = ratio_of(base)
    rebalance_unready = bool(unready) and ratio > 1.0
    if not rebalance_unready and not missing:
        if abs(1.0 - ratio) <= TOLERANCE:
            return Proposal(current, utilization, average)
        return Proposal(math.ceil(ratio * len(ready)), utilization, average)
    filled = list(base)
    for p in missing:  # scale down: they use all they asked for; scale up: nothing
        filled.append((p.request if ratio < 1.0 else 0.0, p.request))
    if rebalance_unready:
        filled.extend((0.0, p.request) for p in unready)
    new_ratio, _, _ = ratio_of(filled)
    if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return Proposal(current, utilization, average)
    desired = math.ceil(new_ratio * len(filled))
    if (new_ratio < 1.0 and desired > current) or (new_ratio > 1.0 and desired < current):
        return Proposal(current, utilization, average)
    return Proposal(desired, utilization, average)


@dataclass(frozen=True)
class ScaleEvent:
    time: float
    change: int  # replicas added (> 0) or removed (< 0)


@dataclass(frozen=True)
class Recommendation:
    time: float
    replicas: int


@dataclass
class Decision:
    replicas: int
    reason: str  # why this count (an event's and a condition's message)
    limited: bool = False  # ScalingLimited: a bound or policy cut the recommendation
    recommendations: list[Recommendation] = field(default_factory=list)  # the history to keep


def _rules(behavior: dict[str, Any] | None, direction: str) -> dict[str, Any]:
    default = DEFAULT_UP if direction == "scaleUp" else DEFAULT_DOWN
    given = (behavior or {}).get(direction) or {}
    out = dict(default)
    out.update({k: v for k, v in given.items() if v is not None})
    return out


def _changed_within(period: float, events: Sequence[ScaleEvent], now: float, sign: int) -> int:
    return sum(abs(e.change) for e in events if now - e.time < period and e.change * sign > 0)


def scale_up_limit(current: int, events: Sequence[ScaleEvent], rules: dict[str, Any], now: float) -> int:
    policy = rules.get("selectPolicy") or "Max"
    if policy == "Disabled":
        return current
    result = MAX_INT32 if policy == "Min" else -MAX_INT32
    for p in rules.get("policies") or []:
        start = (
            current
            - _changed_within(p["periodSeconds"], events, now, 1)
            + _changed_within(p["periodSeconds"], events, now, -1)
        )
        if p["type"] == "Pods":
            proposed = start + int(p["value"])
        else:
            proposed = math.ceil(start * (1 + int(p["value"]) / 100))
        result = min(result, proposed) if policy == "Min" else max(result, proposed)
    return result


def scale_down_limit(current: int, events: Sequence[ScaleEvent], rules: dict[str, Any], now: float) -> int:
    policy = rules.get("selectPolicy") or "Max"
    if policy == "Disabled":
        return current
    result = -MAX_INT32 if policy == "Min" else MAX_INT32
    for p in rules.get("policies") or []:
        start = (
            current
            - _changed_within(p["periodSeconds"], events, now, 1)
            + _changed_within(p["periodSeconds"], events, now, -1)
        )
        if p["type"] == "Pods":
            proposed = start - int(p["value"])
        else:
            proposed = int(start * (1 - int(p["value"]) / 100))
        result = max(result, proposed) if policy == "Min" else min(result, proposed)
    return result


def normalize(
    current: int,
    proposed: int,
    min_replicas: int,
    max_replicas: int,
    behavior: dict[str, Any] | None,
    recommendations: Sequence[Recommendation],
    events: Sequence[ScaleEvent],
    now: float,
) -> Decision:
    """Stabilize ``proposed`` over the windows, limit it by the policies and by min/max."""
    up, down = _rules(behavior, "scaleUp"), _rules(behavior, "scaleDown")
    up_window = float(up["stabilizationWindowSeconds"])
    down_window = float(down["stabilizationWindowSeconds"])
    up_rec = down_rec = proposed
    for r in recommendations:
        if now - r.time < up_window:
            up_rec = min(up_rec, r.replicas)
        if now - r.time < down_window:
            down_rec = max(down_rec, r.replicas)
    stabilized = max(current, up_rec)
    stabilized = min(stabilized, down_rec)
    keep = max(up_window, down_window)
    history = [r for r in recommendations if now - r.time < keep] + [Recommendation(now, proposed)]
    reason = (
        "ScaleUpStabilized"
        if stabilized < proposed
        else "ScaleDownStabilized"
        if stabilized > proposed
        else ""
    )
    desired, limited = stabilized, False
    if desired > current:
        allowed = min(max_replicas, max(current, scale_up_limit(current, events, up, now)))
        if desired > allowed:
            desired, limited = allowed, True
            reason = "TooManyReplicas" if allowed == max_replicas else "ScaleUpLimit"
    elif desired < current:
        allowed = max(min_replicas, min(current, scale_down_limit(current, events, down, now)))
        if desired < allowed:
            desired, limited = allowed, True
            reason = "TooFewReplicas" if allowed == min_replicas else "ScaleDownLimit"
    if desired > max_replicas:
        desired, limited, reason = max_replicas, True, "TooManyReplicas"
    if desired < min_replicas:
        desired, limited, reason = min_replicas, True, "TooFewReplicas"
    return Decision(desired, reason or "DesiredWithinRange", limited, history)


def recommend(
    current: int, spec: dict[str, Any], samples: dict[str, Sequence[PodSample]]
) -> tuple[int, str, list[tuple[dict[str, Any], Proposal]]]:
    """The largest proposal over the HPA's resource metrics, the rescale reason, and each metric's
    proposal (for status.currentMetrics). Raises :class:`MetricError` if no metric can be read."""
    best, reason, out = -1, "", []
    errors: list[MetricError] = []
    for metric in metrics_of(spec):
        res = metric["resource"]
        name, target = res["name"], res.get("target") or {}
        try:
            proposal = resource_proposal(
                current,
                samples.get(name) or [],
                target.get("averageUtilization") if target.get("type") == "Utilization" else None,
                quantity(name, target.get("averageValue")) if target.get("type") == "AverageValue" else None,
                name,
            )
        except MetricError as err:
            errors.append(err)
            continue
        out.append((metric, proposal))
        if proposal.replicas > best:
            best = proposal.replicas
            kind = (
                "resource utilization (percentage of request)"
                if proposal.utilization is not None
                else "resource"
            )
            reason = f"{name} {kind} {'above' if proposal.replicas > current else 'below'} target"
    if not out:
        raise errors[0] if errors else MetricError("FailedGetResourceMetric", "no metrics to compute")
    if best <= current and all(p.replicas < current for _, p in out):
        reason = "All metrics below target"
    return best, reason, out


def metrics_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The resource metrics of a (storage version, autoscaling/v2) HPA spec; CPU at 80% if none."""
    metrics = [m for m in spec.get("metrics") or [] if m.get("type") == "Resource" and m.get("resource")]
    if not spec.get("metrics"):
        metrics = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ]
    return metrics


def quantity(resource: str, value: Any) -> float | None:
    """A quantity (``500m``, ``100Mi``) in the samples' units: CPU millicores, else bytes."""
    if value is None:
        return None
    from schemas.quantity import cpu_millis, to_bytes

    return float(cpu_millis(value) if resource == "cpu" else to_bytes(value))
