"""RBAC enforced by the api for every verb, including watch, across namespaces; as user ``bob``
(a NATS user with no rights but those bindings give)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from schemas.errors import Forbidden
from tests.integration.security.conftest import SecureCluster, eventually

RBAC = "rbac.authorization.k8s.io"


def ns(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def cm(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def role(name: str, namespace: str, verbs: list[str], resources: list[str]) -> dict:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": [{"apiGroups": [""], "resources": resources, "verbs": verbs}],
    }


def binding(
    kind: str, name: str, role_kind: str, role_name: str, user: str, namespace: str | None = None
) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": kind,
        "metadata": meta,
        "subjects": [{"kind": "User", "apiGroup": RBAC, "name": user}],
        "roleRef": {"kind": role_kind, "apiGroup": RBAC, "name": role_name},
    }


async def _until_allowed(api, verb: str, resource: str, namespace: str | None) -> None:  # type: ignore[no-untyped-def]
    async def allowed() -> bool:
        return bool((await api.can_i(verb, resource, namespace))["allowed"])

    await eventually(allowed)


async def test_rbac_get_list_watch_create_delete_across_namespaces(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    for name in ("team-a", "team-b"):
        await admin.create("namespaces", ns(name))
        await admin.create("configmaps", cm("seed"), name)
    bob = await secure.client("bob")

    # nothing bound yet: every verb refused, with Kubernetes' words
    with pytest.raises(
        Forbidden, match='configmaps is forbidden: User "bob" cannot list resource "configmaps"'
    ):
        await bob.list("configmaps", "team-a")
    with pytest.raises(Forbidden, match='configmaps "seed" is forbidden: User "bob" cannot get'):
        await bob.get("configmaps", "seed", "team-a")
    assert not (await bob.can_i("get", "configmaps", "team-a"))["allowed"]

    # a Role and RoleBinding in team-a: read there, nowhere else
    await admin.create("roles", role("reader", "team-a", ["get", "list", "watch"], ["configmaps"]))
    await admin.create("rolebindings", binding("RoleBinding", "bob-reads", "Role", "reader", "bob", "team-a"))
    await _until_allowed(bob, "list", "configmaps", "team-a")
    assert (await bob.get("configmaps", "seed", "team-a"))["data"] == {"k": "v"}
    assert [o["metadata"]["name"] for o in (await bob.list("configmaps", "team-a"))["items"]] == ["seed"]
    with pytest.raises(Forbidden, match='in the namespace "team-b"'):
        await bob.list("configmaps", "team-b")
    with pytest.raises(Forbidden, match="at the cluster scope"):
        await bob.list("configmaps")  # every namespace needs a cluster-wide grant
    with pytest.raises(Forbidden, match='cannot create resource "configmaps"'):
        await bob.create("configmaps", cm("new"), "team-a")
    with pytest.raises(Forbidden, match='cannot delete resource "configmaps"'):
        await bob.delete("configmaps", "seed", "team-a")

    # watch: allowed in team-a (events arrive), refused in team-b
    seen: list[str] = []

    async def follow() -> None:
        async with contextlib.aclosing(bob.watch("configmaps", "team-a")) as events:
            async for ev in events:
                if ev.type != "BOOKMARK":
                    seen.append(f"{ev.type} {ev.object['metadata']['name']}")

    task = asyncio.create_task(follow())
    await admin.create("configmaps", cm("later"), "team-a")
    await admin.create("configmaps", cm("hidden"), "team-b")

    async def saw_later() -> bool:
        return "ADDED later" in seen

    await eventually(saw_later)
    assert "ADDED seed" in seen and not any("hidden" in s for s in seen)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    with pytest.raises(
        Forbidden, match='cannot watch resource "configmaps" in API group "" in the namespace "team-b"'
    ):
        async with contextlib.aclosing(bob.watch("configmaps", "team-b")) as events:
            async for _ in events:
                break

    # a ClusterRole bound cluster-wide: create and delete everywhere
    await admin.create(
        "clusterroles",
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "cm-writer"},
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "delete", "list"]}
            ],
        },
    )
    await admin.create(
        "clusterrolebindings", binding("ClusterRoleBinding", "bob-writes", "ClusterRole", "cm-writer", "bob")
    )
    await _until_allowed(bob, "create", "configmaps", "team-b")
    await bob.create("configmaps", cm("made-by-bob"), "team-b")
    await bob.delete("configmaps", "seed", "team-b")
    names = {o["metadata"]["name"] for o in (await bob.list("configmaps"))["items"]}
    assert {"made-by-bob", "later", "hidden"} <= names and "seed" in names  # team-a's seed remains

    # unbinding takes the rights away again
    await admin.delete("clusterrolebindings", "bob-writes")

    async def revoked() -> bool:
        return not (await bob.can_i("create", "configmaps", "team-b"))["allowed"]

    await eventually(revoked)
    with pytest.raises(Forbidden):
        await bob.create("configmaps", cm("too-late"), "team-b")


async def test_default_roles_and_a_bad_binding(secure: SecureCluster) -> None:
    from schemas.errors import Invalid

    admin = await secure.client("admin")
    names = {o["metadata"]["name"] for o in (await admin.list("clusterroles"))["items"]}
    assert {"cluster-admin", "admin", "edit", "view"} <= names
    with pytest.raises(Invalid, match=r'roleRef\.kind: Unsupported value: "Role"'):
        await admin.create("clusterrolebindings", binding("ClusterRoleBinding", "bad", "Role", "x", "bob"))
