"""Pydantic models of every kind jetkube serves, with Kubernetes' field names.

The canonical form of an object is a plain camelCase dict (see docs/CONTRACTS.md); these models are
what that dict is checked against (``Model.model_validate(obj)``) and what code that prefers typed
access may build from it. Validate by the wire names: ``Pod.model_validate({"spec": {...}})``.
"""

from schemas.models.autoscaling import HorizontalPodAutoscaler
from schemas.models.config import (
    ConfigMap,
    CustomResourceDefinition,
    Event,
    Lease,
    LimitRange,
    ResourceQuota,
    Secret,
    ServiceAccount,
)
from schemas.models.container import Container, ContainerStatus, Probe
from schemas.models.meta import LabelSelector, ObjectMeta, ObjectReference, OwnerReference
from schemas.models.networking import Ingress, IngressClass
from schemas.models.node import Namespace, Node
from schemas.models.pod import Pod, PodSpec, PodStatus, PodTemplateSpec
from schemas.models.rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from schemas.models.revisions import ControllerRevision
from schemas.models.service import Endpoints, Service
from schemas.models.statefulset import StatefulSet
from schemas.models.storage import PersistentVolume, PersistentVolumeClaim, StorageClass
from schemas.models.volumes import Volume
from schemas.models.workloads import CronJob, DaemonSet, Deployment, Job, ReplicaSet, ReplicationController

__all__ = [
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "Container",
    "ContainerStatus",
    "ControllerRevision",
    "CronJob",
    "CustomResourceDefinition",
    "DaemonSet",
    "Deployment",
    "Endpoints",
    "Event",
    "HorizontalPodAutoscaler",
    "Ingress",
    "IngressClass",
    "Job",
    "LabelSelector",
    "Lease",
    "LimitRange",
    "Namespace",
    "Node",
    "ObjectMeta",
    "ObjectReference",
    "OwnerReference",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Pod",
    "PodSpec",
    "PodStatus",
    "PodTemplateSpec",
    "Probe",
    "ReplicaSet",
    "ReplicationController",
    "ResourceQuota",
    "Role",
    "RoleBinding",
    "Secret",
    "Service",
    "ServiceAccount",
    "StatefulSet",
    "StorageClass",
    "Volume",
]
