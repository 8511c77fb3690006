"""Server-side apply is a patch, but an apply that creates the object needs create rights too, as
kube-apiserver checks them: a user bound to ``patch`` alone may apply to what exists, not make new
objects."""

from __future__ import annotations

import pytest

from schemas.errors import Forbidden
from tests.integration.security.conftest import SecureCluster, eventually


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


async def test_apply_creating_needs_create_and_applying_to_an_existing_object_needs_patch(
    secure: SecureCluster,
) -> None:
    admin = await secure.client("admin")
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "patch-cms"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "patcher"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "patch-cms"},
        "subjects": [{"kind": "User", "name": "patcher", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    await admin.create("roles", role, "default")
    await admin.create("rolebindings", binding, "default")
    await admin.create("configmaps", cm("there", a="1"), "default")
    patcher = await secure.client("admin", impersonate="patcher")

    async def allowed() -> bool:  # the api's RBAC mirror follows the binding shortly
        try:
            await patcher.apply(
                "configmaps", "there", cm("there", a="2"), field_manager="p", namespace="default", force=True
            )
        except Forbidden:
            return False
        return True

    await eventually(allowed)
    with pytest.raises(Forbidden, match='User "patcher" cannot create resource "configmaps"'):
        await patcher.apply("configmaps", "new", cm("new", a="1"), field_manager="p", namespace="default")
    items, _ = await secure.store.list("configmaps", "default")
    assert "new" not in {o["metadata"]["name"] for o in items}
