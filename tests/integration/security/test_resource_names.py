"""Hole 2: a ``resourceNames`` rule allows a list or watch only when it is restricted to that
name by a ``metadata.name`` field selector (as Kubernetes): it never reads the whole namespace."""

from __future__ import annotations

import contextlib

import pytest

from schemas.errors import Forbidden
from tests.integration.security.conftest import SecureCluster, eventually
from tests.integration.security.test_rbac import RBAC, binding


def secret(name: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"v": value}}


async def test_resource_names_restrict_list_and_watch_to_that_name(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    await admin.create("secrets", secret("app-cfg", "mine"), "default")
    await admin.create("secrets", secret("db-password", "not-yours"), "default")
    role = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role",
        "metadata": {"name": "one-secret", "namespace": "default"},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["app-cfg"],
                "verbs": ["get", "list", "watch"],
            }
        ],
    }
    await admin.create("roles", role)
    await admin.create("rolebindings", binding("RoleBinding", "b", "Role", "one-secret", "bob", "default"))
    bob = await secure.client("bob")

    async def can_get() -> bool:
        return bool((await bob.can_i("get", "secrets", "default", "app-cfg"))["allowed"])

    await eventually(can_get)
    assert (await bob.get("secrets", "app-cfg", "default"))["metadata"]["name"] == "app-cfg"

    # the hole: a list or watch naming the allowed secret, but not restricted to it
    with pytest.raises(Forbidden, match='cannot list resource "secrets"'):
        await bob.call("list", {"resource": "secrets", "namespace": "default", "name": "app-cfg"})
    with pytest.raises(Forbidden, match='cannot list resource "secrets"'):
        await bob.list("secrets", "default")
    with pytest.raises(Forbidden, match='cannot watch resource "secrets"'):
        async with contextlib.aclosing(bob.watch("secrets", "default")) as events:
            await anext(events)
    with pytest.raises(Forbidden):  # a selector that also lets other names through
        await bob.list("secrets", "default", field_selector="metadata.name!=x")

    # positive control: restricted to the name by a field selector, list and watch work
    listed = await bob.list("secrets", "default", field_selector="metadata.name=app-cfg")
    assert [s["metadata"]["name"] for s in listed["items"]] == ["app-cfg"]
    async with contextlib.aclosing(
        bob.watch("secrets", "default", field_selector="metadata.name=app-cfg")
    ) as events:
        first = await anext(events)
    assert first.object["metadata"]["name"] == "app-cfg"
    with pytest.raises(Forbidden):
        await bob.list("secrets", "default", field_selector="metadata.name=db-password")
