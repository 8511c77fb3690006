"""core/v1 Node and Namespace: the cluster-scoped kinds."""

from __future__ import annotations

from pydantic import Field

from schemas.models.base import AnyObject, K8sModel, ResourceList, Time
from schemas.models.meta import Condition, ObjectMeta


class Taint(K8sModel):
    key: str
    value: str | None = None
    effect: str
    time_added: Time | None = None


class NodeSpec(K8sModel):
    pod_cidr: str | None = None
    pod_cidrs: list[str] | None = None
    provider_id: str | None = None
    unschedulable: bool | None = None
    taints: list[Taint] | None = None
    config_source: AnyObject | None = None
    external_id: str | None = None


class NodeAddress(K8sModel):
    type: str
    address: str


class DaemonEndpoint(K8sModel):
    port: int = Field(alias="Port")


class NodeDaemonEndpoints(K8sModel):
    kubelet_endpoint: DaemonEndpoint | None = None


class NodeSystemInfo(K8sModel):
    machine_id: str | None = None
    system_uuid: str | None = None
    boot_id: str | None = None
    kernel_version: str | None = None
    os_image: str | None = None
    container_runtime_version: str | None = None
    kubelet_version: str | None = None
    kube_proxy_version: str | None = None
    operating_system: str | None = None
    architecture: str | None = None
    swap: AnyObject | None = None


class ContainerImage(K8sModel):
    names: list[str] | None = None
    size_bytes: int | None = None


class AttachedVolume(K8sModel):
    name: str
    device_path: str


class NodeStatus(K8sModel):
    capacity: ResourceList | None = None
    allocatable: ResourceList | None = None
    phase: str | None = None
    conditions: list[Condition] | None = None
    addresses: list[NodeAddress] | None = None
    daemon_endpoints: NodeDaemonEndpoints | None = None
    node_info: NodeSystemInfo | None = None
    images: list[ContainerImage] | None = None
    volumes_in_use: list[str] | None = None
    volumes_attached: list[AttachedVolume] | None = None
    config: AnyObject | None = None
    runtime_handlers: list[AnyObject] | None = None
    features: AnyObject | None = None


class Node(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: NodeSpec | None = None
    status: NodeStatus | None = None


class NamespaceSpec(K8sModel):
    finalizers: list[str] | None = None


class NamespaceStatus(K8sModel):
    phase: str | None = None
    conditions: list[Condition] | None = None


class Namespace(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: NamespaceSpec | None = None
    status: NamespaceStatus | None = None
