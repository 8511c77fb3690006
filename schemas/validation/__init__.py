"""Semantic validation of canonical objects, kind by kind, in Kubernetes' words.

``errors_for(kind, obj)`` runs on an object that already passed the structural (pydantic) check and
has its defaults applied, as Kubernetes validates after defaulting; it returns every broken rule as a
:class:`~schemas.errors.FieldError` naming the field path (``spec.containers[0].image``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.errors import FieldError
from schemas.validation import autoscaling, core, networking, pod, rbac, storage, workloads

Validator = Callable[[dict[str, Any], list[FieldError]], None]


def _crd_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    from schemas.crd import crd_errors

    core.cluster_meta_errors(obj, out)
    crd_errors(obj, out)

VALIDATORS: dict[str, Validator] = {
    "Pod": pod.pod_errors,
    "Node": core.node_errors,
    "Namespace": core.namespace_errors,
    "Service": core.service_errors,
    "Endpoints": core.endpoints_errors,
    "ConfigMap": core.config_map_errors,
    "Secret": core.secret_errors,
    "ServiceAccount": core.service_account_errors,
    "ReplicationController": workloads.replication_controller_errors,
    "Event": core.event_errors,
    "ResourceQuota": core.resource_quota_errors,
    "LimitRange": core.limit_range_errors,
    "Deployment": workloads.deployment_errors,
    "ReplicaSet": workloads.replica_set_errors,
    "DaemonSet": workloads.daemon_set_errors,
    "Job": workloads.job_errors,
    "CronJob": workloads.cron_job_errors,
    "Lease": core.lease_errors,
    "Ingress": networking.ingress_errors,
    "IngressClass": networking.ingress_class_errors,
    "Role": rbac.role_errors,
    "ClusterRole": rbac.role_errors,
    "RoleBinding": rbac.role_binding_errors,
    "ClusterRoleBinding": rbac.cluster_role_binding_errors,
    "HorizontalPodAutoscaler": autoscaling.errors,
    "PersistentVolume": storage.persistent_volume_errors,
    "PersistentVolumeClaim": storage.persistent_volume_claim_errors,
    "StorageClass": storage.storage_class_errors,
    "StatefulSet": storage.stateful_set_errors,
    "ControllerRevision": workloads.controller_revision_errors,
    "CustomResourceDefinition": _crd_errors,
}


def errors_for(kind: str, obj: dict[str, Any]) -> list[FieldError]:
    out: list[FieldError] = []
    validator = VALIDATORS.get(kind)
    if validator is not None:  # custom kinds are checked by their CRD's schema (schemas/crd.py)
        validator(obj, out)
    return out
