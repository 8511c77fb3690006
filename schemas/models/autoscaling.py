"""autoscaling/v2 HorizontalPodAutoscaler (stored), also served as autoscaling/v1 (schemas/autoscaling.py).

Resource metrics (cpu, memory) are what jetkube's autoscaler acts on; the other metric sources
(Pods, Object, External, ContainerResource) are accepted as objects and reported as not supported.
"""

from __future__ import annotations

from schemas.models.base import AnyObject, K8sModel, Quantity, Time
from schemas.models.meta import ObjectMeta


class CrossVersionObjectReference(K8sModel):
    kind: str | None = None
    name: str | None = None
    api_version: str | None = None


class MetricTarget(K8sModel):
    type: str | None = None
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


class ResourceMetricSource(K8sModel):
    name: str | None = None
    target: MetricTarget | None = None


class MetricSpec(K8sModel):
    type: str | None = None
    resource: ResourceMetricSource | None = None
    container_resource: AnyObject | None = None
    pods: AnyObject | None = None
    object: AnyObject | None = None
    external: AnyObject | None = None


class HPAScalingPolicy(K8sModel):
    type: str | None = None
    value: int | None = None
    period_seconds: int | None = None


class HPAScalingRules(K8sModel):
    stabilization_window_seconds: int | None = None
    select_policy: str | None = None
    policies: list[HPAScalingPolicy] | None = None
    tolerance: Quantity | None = None


class HorizontalPodAutoscalerBehavior(K8sModel):
    scale_up: HPAScalingRules | None = None
    scale_down: HPAScalingRules | None = None


class HorizontalPodAutoscalerSpec(K8sModel):
    scale_target_ref: CrossVersionObjectReference | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    metrics: list[MetricSpec] | None = None
    behavior: HorizontalPodAutoscalerBehavior | None = None


class MetricValueStatus(K8sModel):
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


class ResourceMetricStatus(K8sModel):
    name: str | None = None
    current: MetricValueStatus | None = None


class MetricStatus(K8sModel):
    type: str | None = None
    resource: ResourceMetricStatus | None = None
    container_resource: AnyObject | None = None
    pods: AnyObject | None = None
    object: AnyObject | None = None
    external: AnyObject | None = None


class HorizontalPodAutoscalerCondition(K8sModel):
    type: str
    status: str
    last_transition_time: Time | None = None
    reason: str | None = None
    message: str | None = None


class HorizontalPodAutoscalerStatus(K8sModel):
    observed_generation: int | None = None
    last_scale_time: Time | None = None
    current_replicas: int | None = None
    desired_replicas: int | None = None
    current_metrics: list[MetricStatus] | None = None
    conditions: list[HorizontalPodAutoscalerCondition] | None = None


class HorizontalPodAutoscaler(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: HorizontalPodAutoscalerSpec | None = None
    status: HorizontalPodAutoscalerStatus | None = None
