"""Helpers for the infrastructure controllers' integration tests: run a controller, poll a condition."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from actors.runtime.controller import Controller
from actors.runtime.shared import SharedInformers
from schemas.errors import NotFound
from tests.integration.controllers.helpers import eventually
from tests.integration.controllers.helpers import running as running_all

__all__ = ["eventually", "gone", "owner_ref", "pod_manifest", "running", "set_pod_status"]


@contextlib.asynccontextmanager
async def running(
    api: Any, build: Callable[[Any, SharedInformers], Controller | list[Controller]]
) -> AsyncIterator[Controller | list[Controller]]:
    """Build controller(s) over fresh shared informers, run them supervised, stop them after."""
    async with running_all(api, build) as built:
        yield built[0]


async def gone(api: Any, resource: str, name: str, namespace: str | None = None) -> bool:
    try:
        await api.get(resource, name, namespace=namespace)
    except NotFound:
        return True
    return False


def pod_manifest(
    name: str,
    labels: dict[str, str] | None = None,
    *,
    node: str | None = None,
    ports: list[dict[str, Any]] | None = None,
    owners: list[dict[str, Any]] | None = None,
    namespace: str = "default",
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owners:
        meta["ownerReferences"] = owners
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox", "ports": ports or []}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


async def set_pod_status(
    api: Any, name: str, *, ip: str | None, ready: bool, phase: str = "Running", namespace: str = "default"
) -> dict[str, Any]:
    """Write a pod's status as its kubelet would."""
    pod = await api.get("pods", name, namespace=namespace)
    status = dict(pod.get("status") or {})
    status["phase"] = phase
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    status["conditions"] = [
        {"type": "Ready", "status": "True" if ready else "False"},
        {"type": "PodScheduled", "status": "True"},
    ]
    pod["status"] = status
    return await api.update_status("pods", pod, namespace=namespace)


def owner_ref(obj: dict[str, Any], *, block: bool = True, controller: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": obj.get("apiVersion", "v1"),
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": block,
    }
