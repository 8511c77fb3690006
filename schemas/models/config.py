"""core/v1 ConfigMap, Secret, ServiceAccount, Event, ResourceQuota and LimitRange;
coordination.k8s.io/v1 Lease."""

from __future__ import annotations

from typing import Any

from schemas.models.base import K8sModel, ResourceList, StrMap, Time
from schemas.models.meta import LocalObjectReference, ObjectMeta, ObjectReference


class ConfigMap(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    data: StrMap | None = None
    binary_data: StrMap | None = None
    immutable: bool | None = None


class Secret(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    data: StrMap | None = None
    string_data: StrMap | None = None
    type: str | None = None
    immutable: bool | None = None


class ServiceAccount(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    secrets: list[ObjectReference] | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    automount_service_account_token: bool | None = None


class EventSource(K8sModel):
    component: str | None = None
    host: str | None = None


class EventSeries(K8sModel):
    count: int | None = None
    last_observed_time: Time | None = None


class Event(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    involved_object: ObjectReference
    reason: str | None = None
    message: str | None = None
    source: EventSource | None = None
    first_timestamp: Time | None = None
    last_timestamp: Time | None = None
    count: int | None = None
    type: str | None = None
    event_time: Time | None = None
    series: EventSeries | None = None
    action: str | None = None
    related: ObjectReference | None = None
    reporting_component: str | None = None
    reporting_instance: str | None = None


class ScopedResourceSelectorRequirement(K8sModel):
    scope_name: str
    operator: str
    values: list[str] | None = None


class ScopeSelector(K8sModel):
    match_expressions: list[ScopedResourceSelectorRequirement] | None = None


class ResourceQuotaSpec(K8sModel):
    hard: ResourceList | None = None
    scopes: list[str] | None = None
    scope_selector: ScopeSelector | None = None


class ResourceQuotaStatus(K8sModel):
    hard: ResourceList | None = None
    used: ResourceList | None = None


class ResourceQuota(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: ResourceQuotaSpec | None = None
    status: ResourceQuotaStatus | None = None


class LimitRangeItem(K8sModel):
    type: str
    max: ResourceList | None = None
    min: ResourceList | None = None
    default: ResourceList | None = None
    default_request: ResourceList | None = None
    max_limit_request_ratio: ResourceList | None = None


class LimitRangeSpec(K8sModel):
    limits: list[LimitRangeItem]


class LimitRange(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: LimitRangeSpec | None = None


class LeaseSpec(K8sModel):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: Time | None = None
    renew_time: Time | None = None
    lease_transitions: int | None = None
    strategy: str | None = None
    preferred_holder: str | None = None


class Lease(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: LeaseSpec | None = None


__all__ = ["ConfigMap", "Event", "Lease", "LimitRange", "ResourceQuota", "Secret", "StrMap"]


class CustomResourceDefinition(K8sModel):
    """apiextensions.k8s.io/v1: ``spec`` and ``status`` are checked by schemas/crd.py, which knows
    their rules (a JSON schema inside a schema is not worth a pydantic tree)."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: dict[str, Any] | None = None
    status: dict[str, Any] | None = None
