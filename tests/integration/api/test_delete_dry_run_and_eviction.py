"""Deletes with ``dryRun`` (every check made, the answer given, nothing changed) and evictions
authorized as ``create pods/eviction`` (not ``delete pods``), over the NATS api as Kubernetes does."""

from __future__ import annotations

from typing import Any

import pytest

from bus.client import ApiClient
from bus.store import Store
from schemas.errors import Conflict, Forbidden, JetkubeError, MethodNotAllowed, NotFound
from tests.waiting import wait_for


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }


async def _revisions(store: Store) -> dict[str, str]:
    out = {}
    for plural in ("pods", "configmaps", "namespaces"):
        items, _ = await store.list(plural)
        for o in items:
            m = o["metadata"]
            out[f"{plural}/{m.get('namespace')}/{m['name']}"] = str(m["resourceVersion"])
    return out


async def test_a_dry_run_delete_answers_as_the_delete_would_and_changes_nothing(
    api: ApiClient, store: Store
) -> None:
    await api.create("pods", pod("free"))  # unbound: a delete removes it at once
    await api.create("pods", pod("bound", nodeName="n1", terminationGracePeriodSeconds=20))
    await api.create(
        "configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["x.io/hold"]}},
    )
    before = await _revisions(store)

    gone = await api.delete("pods", "free", dry_run=True)
    assert gone["metadata"]["name"] == "free" and "deletionTimestamp" not in gone["metadata"]
    graceful = await api.delete("pods", "bound", dry_run=True)
    assert graceful["metadata"]["deletionGracePeriodSeconds"] == 20
    assert graceful["metadata"]["deletionTimestamp"]
    held = await api.delete("configmaps", "held", dry_run=True, propagation_policy="Foreground")
    assert held["metadata"]["finalizers"] == ["x.io/hold", "foregroundDeletion"]
    assert held["metadata"]["deletionTimestamp"]

    # the checks a real delete makes are all made
    with pytest.raises(NotFound):
        await api.delete("pods", "missing", dry_run=True)
    with pytest.raises(Conflict, match="precondition"):
        await api.delete("pods", "free", resource_version="1", dry_run=True)
    with pytest.raises(Forbidden, match="may not be deleted"):
        await api.delete("namespaces", "default", dry_run=True)
    viewer = ApiClient(api.bus, impersonate="nobody", impersonate_groups=["system:authenticated"])
    with pytest.raises(Forbidden, match='cannot delete resource "pods"'):
        await viewer.delete("pods", "free", dry_run=True)

    assert await _revisions(store) == before  # nothing written
    assert "deletionTimestamp" not in (await api.get("pods", "bound"))["metadata"]


async def _until_allowed(client: ApiClient, verb: str, resource: str) -> None:
    async def allowed() -> bool:
        return bool((await client.can_i(verb, resource, "default")).get("allowed"))

    await wait_for(allowed, timeout=10, what=f"{client.impersonate} may {verb} {resource}")


async def test_an_eviction_is_authorized_as_create_pods_eviction(api: ApiClient) -> None:
    await api.create(
        "roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "evict-only", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]}],
        },
    )
    await api.create(
        "rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "evictor", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "evict-only"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "evictor"}],
        },
    )
    evictor = ApiClient(api.bus, impersonate="evictor", impersonate_groups=["system:authenticated"])
    await _until_allowed(evictor, "create", "pods/eviction")
    await api.create("pods", pod("a"))
    await api.create("pods", pod("b"))

    with pytest.raises(Forbidden, match='cannot delete resource "pods"'):
        await evictor.delete("pods", "a")  # may evict, may not delete
    await evictor.delete("pods", "a", subresource="eviction", dry_run=True)
    assert await api.get("pods", "a")
    await evictor.delete("pods", "a", subresource="eviction")
    with pytest.raises(NotFound):
        await api.get("pods", "a")

    # who may delete pods but not evict them is refused an eviction, as in Kubernetes
    deleter = ApiClient(api.bus, impersonate="deleter", impersonate_groups=["system:authenticated"])
    await api.create(
        "roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "delete-only", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}],
        },
    )
    await api.create(
        "rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "deleter", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "delete-only"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "deleter"}],
        },
    )
    await _until_allowed(deleter, "delete", "pods")
    with pytest.raises(Forbidden, match='cannot create resource "pods/eviction"'):
        await deleter.delete("pods", "b", subresource="eviction")
    assert await api.get("pods", "b")

    # the eviction subresource is a pod's only
    await api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    with pytest.raises(JetkubeError) as refused:
        await api.delete("configmaps", "c", subresource="eviction")
    assert isinstance(refused.value, MethodNotAllowed | Forbidden)
    assert await api.get("configmaps", "c")
