"""Namespace deletion: Terminating, emptied, then removed; system namespaces cannot be deleted."""

from __future__ import annotations

from typing import Any

import pytest

from actors.namespace.controller import NamespaceController
from schemas.errors import Forbidden
from tests.integration.controllers_infra.helpers import eventually, gone, pod_manifest, running


async def test_namespace_deletion_empties_then_removes(api: Any) -> None:
    await api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    await api.create(
        "configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "team"}},
    )
    await api.create("pods", pod_manifest("bound", node="n1", namespace="team"))
    await api.create("pods", pod_manifest("loose", namespace="team"))

    def build(api: Any, informers: Any) -> NamespaceController:
        return NamespaceController(api, informers, recheck_seconds=0.1)

    async with running(api, build):
        await api.delete("namespaces", "team")
        ns = await api.get("namespaces", "team")
        assert ns["status"]["phase"] == "Terminating"
        with pytest.raises(Forbidden, match="because it is being terminated"):
            await api.create("pods", pod_manifest("late", namespace="team"))

        await eventually(lambda: gone(api, "configmaps", "cfg", "team"))
        await eventually(lambda: gone(api, "pods", "loose", "team"))

        async def bound_terminating() -> bool:
            pod = await api.get("pods", "bound", namespace="team")
            return bool(pod["metadata"].get("deletionTimestamp"))

        await eventually(bound_terminating)
        assert not await gone(api, "namespaces", "team")  # waits for the pod
        await api.delete("pods", "bound", namespace="team", grace_period_seconds=0)  # its kubelet is done
        await eventually(lambda: gone(api, "namespaces", "team"))


async def test_system_namespaces_cannot_be_deleted(api: Any) -> None:
    for name in ("default", "kube-system", "kube-public"):
        with pytest.raises(
            Forbidden, match=f'namespaces "{name}" is forbidden: this namespace may not be deleted'
        ):
            await api.delete("namespaces", name)
