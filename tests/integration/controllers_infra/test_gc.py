"""Cascading deletion (Background, Foreground, Orphan) and pod GC, against the api actor."""

from __future__ import annotations

from typing import Any

import pytest

from actors.gc.controller import GarbageCollector
from bus.store import Store
from tests.integration.controllers_infra.helpers import (
    eventually,
    gone,
    owner_ref,
    pod_manifest,
    running,
    set_pod_status,
)


def replicaset(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


async def make_family(api: Any, name: str, children: int = 2) -> dict[str, Any]:
    rs = await api.create("replicasets", replicaset(name))
    for i in range(children):
        await api.create("pods", pod_manifest(f"{name}-{i}", {"app": name}, owners=[owner_ref(rs)]))
    return rs


def build(api: Any, informers: Any) -> GarbageCollector:
    return GarbageCollector(api, informers, terminated_pod_gc_threshold=2, pod_gc_period=0.2)


async def test_background_deletes_dependents(api: Any) -> None:
    async with running(api, build):
        await make_family(api, "bg")
        await api.delete("replicasets", "bg", namespace="default", propagation_policy="Background")
        for i in range(2):
            await eventually(lambda i=i: gone(api, "pods", f"bg-{i}", "default"))


async def test_foreground_deletes_dependents_first(api: Any) -> None:
    async with running(api, build):
        await make_family(api, "fg")
        await api.delete("replicasets", "fg", namespace="default", propagation_policy="Foreground")
        await eventually(lambda: gone(api, "replicasets", "fg", "default"))
        for i in range(2):
            assert await gone(api, "pods", f"fg-{i}", "default")


async def test_foreground_owner_waits_for_terminating_dependent(api: Any) -> None:
    async with running(api, build):
        rs = await api.create("replicasets", replicaset("slow"))
        await api.create("pods", pod_manifest("slow-0", {"app": "slow"}, node="n1", owners=[owner_ref(rs)]))
        await set_pod_status(api, "slow-0", ip="10.1.0.9", ready=True)
        await api.delete("replicasets", "slow", namespace="default", propagation_policy="Foreground")

        async def pod_terminating() -> bool:
            pod = await api.get("pods", "slow-0", namespace="default")
            return bool(pod["metadata"].get("deletionTimestamp"))

        await eventually(pod_terminating)
        owner = await api.get("replicasets", "slow", namespace="default")
        assert "foregroundDeletion" in owner["metadata"]["finalizers"]
        # the kubelet finishes the pod: then the owner goes
        await api.delete("pods", "slow-0", namespace="default", grace_period_seconds=0)
        await eventually(lambda: gone(api, "replicasets", "slow", "default"))


async def test_orphan_keeps_dependents(api: Any) -> None:
    async with running(api, build):
        await make_family(api, "or")
        await api.delete("replicasets", "or", namespace="default", propagation_policy="Orphan")
        await eventually(lambda: gone(api, "replicasets", "or", "default"))
        for i in range(2):
            pod = await api.get("pods", f"or-{i}", namespace="default")
            assert not pod["metadata"].get("ownerReferences")


async def test_dependent_with_another_living_owner_survives(api: Any) -> None:
    async with running(api, build):
        a = await api.create("replicasets", replicaset("a"))
        b = await api.create("replicasets", replicaset("b"))
        shared = pod_manifest("shared", {"app": "a"}, owners=[owner_ref(a), owner_ref(b, controller=False)])
        await api.create("pods", shared)
        await api.delete("replicasets", "a", namespace="default")

        async def detached() -> bool:
            pod = await api.get("pods", "shared", namespace="default")
            return [r["name"] for r in pod["metadata"]["ownerReferences"]] == ["b"]

        await eventually(detached)


async def test_owner_created_after_dependent_in_cache_is_not_a_reason_to_delete(api: Any) -> None:
    async with running(api, build):
        rs = await make_family(api, "young", children=1)
        await eventually(lambda: _exists(api, "pods", "young-0"))
        pod = await api.get("pods", "young-0", namespace="default")
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]


async def _exists(api: Any, resource: str, name: str) -> bool:
    return not await gone(api, resource, name, "default")


async def test_terminated_pod_gc_and_orphaned_pods(api: Any) -> None:
    async with running(api, build):
        for i in range(4):
            await api.create("pods", pod_manifest(f"done-{i}", {"job": "x"}))
            await set_pod_status(api, f"done-{i}", ip=None, ready=False, phase="Succeeded")
        await api.create("pods", pod_manifest("ghost-pod", node="ghost"))

        async def two_left() -> bool:
            names = {p["metadata"]["name"] for p in (await api.list("pods", namespace="default"))["items"]}
            return names == {"done-2", "done-3"}

        await eventually(two_left)


async def _terminating(store: Store, pod: dict[str, Any]) -> None:
    """Write ``pod`` straight into the store, marked as being deleted (no finalizers, still there)."""
    created = await store.create("pods", pod)
    created["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    created["metadata"]["deletionGracePeriodSeconds"] = 30
    await store.update("pods", created)


async def test_pod_gc_force_deletes_unbound_terminating_pods_and_pods_of_a_deleted_node(
    api: Any, store: Store
) -> None:
    for name in ("live", "doomed"):
        await api.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    await _terminating(store, pod_manifest("stuck-early"))  # in the informer's first snapshot
    await api.create("pods", pod_manifest("pending"))
    await api.create("pods", pod_manifest("on-live", node="live"))
    await _terminating(store, pod_manifest("leaving-live", node="live"))  # its kubelet's to finish
    await api.create("pods", pod_manifest("on-doomed", node="doomed"))
    async with running(api, build):
        await _terminating(store, pod_manifest("stuck-late"))  # seen by the watch

        async def names() -> set[str]:
            return {p["metadata"]["name"] for p in (await api.list("pods", namespace="default"))["items"]}

        async def unbound_terminating_gone() -> bool:
            return not {"stuck-early", "stuck-late"} & await names()

        await eventually(unbound_terminating_gone)
        assert await names() == {"pending", "on-live", "leaving-live", "on-doomed"}
        await api.delete("nodes", "doomed")
        await eventually(lambda: gone(api, "pods", "on-doomed", "default"))
        # The positive control: one more unbound terminating pod, collected by a later sweep; that
        # sweep left the rest alone.
        await _terminating(store, pod_manifest("stuck-after"))
        await eventually(lambda: gone(api, "pods", "stuck-after", "default"))
        assert await names() == {"pending", "on-live", "leaving-live"}


@pytest.fixture(autouse=True)
def _quiet_structlog() -> None:
    return None
