"""Small builders of API-form objects for the controller plan tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.status import format_time

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return format_time(NOW - timedelta(seconds=seconds))


def template(labels: dict[str, str] | None = None, image: str = "nginx:1.25") -> dict[str, Any]:
    return {
        "metadata": {"labels": dict(labels or {"app": "web"})},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


def ref(kind: str, name: str, uid: str, api_version: str = "v1") -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    owner: dict[str, Any] | None = None,
    phase: str = "Running",
    ready: bool = True,
    ready_for: float = 3600,
    node: str | None = "n1",
    created: float = 3600,
    restarts: int = 0,
    deleting: bool = False,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "default",
        "uid": f"uid-{name}",
        "resourceVersion": "1",
        "labels": dict(labels if labels is not None else {"app": "web"}),
        "creationTimestamp": ago(created),
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    if owner is not None:
        meta["ownerReferences"] = [owner]
    if deleting:
        meta["deletionTimestamp"] = ago(0)
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [],
        "containerStatuses": [{"name": "c", "restartCount": restarts}],
    }
    if phase == "Running":
        status["conditions"].append(
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ago(ready_for)}
        )
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def node(
    name: str,
    labels: dict[str, str] | None = None,
    taints: list[dict[str, Any]] | None = None,
    unschedulable: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "labels": {"kubernetes.io/hostname": name, **(labels or {})},
        },
        "spec": spec,
    }
