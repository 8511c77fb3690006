"""Hole 4: no privilege escalation through RBAC, impersonation or a kubelet's own Node.

* A Role (ClusterRole) that grants more than its author holds is refused unless the author may
  ``escalate`` it; a binding to a role whose rules the author does not hold is refused unless the
  author may ``bind`` that role (Kubernetes' rule), for create, update and patch alike.
* Impersonation checks the user, then every impersonated group (and extra) on its own.
* NodeRestriction: a kubelet may not change its own Node's ``node-restriction.kubernetes.io/``
  labels nor ``kubernetes.io/hostname``, nor its taints."""

from __future__ import annotations

import pytest

from bus.client import ApiClient
from schemas.errors import Forbidden
from tests.integration.security.conftest import SecureCluster, eventually
from tests.integration.security.test_rbac import RBAC, binding, ns


def role(name: str, namespace: str, rules: list[dict]) -> dict:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": rules,
    }


def rule(resources: list[str], verbs: list[str], group: str = "", **extra: list[str]) -> dict:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs, **extra}


async def _allowed(api: ApiClient, verb: str, resource: str, namespace: str | None) -> None:
    async def ok() -> bool:
        return bool((await api.can_i(verb, resource, namespace))["allowed"])

    await eventually(ok)


async def test_roles_and_bindings_cannot_grant_more_than_one_holds(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    await admin.create("namespaces", ns("team"))
    # bob manages RBAC in "team" and may read ConfigMaps there: nothing more
    await admin.create(
        "roles",
        role(
            "rbac-manager",
            "team",
            [
                rule(["roles", "rolebindings"], ["get", "list", "create", "update", "patch"], RBAC),
                rule(["configmaps"], ["get", "list"]),
            ],
        ),
    )
    await admin.create(
        "rolebindings", binding("RoleBinding", "bob-manages", "Role", "rbac-manager", "bob", "team")
    )
    bob = await secure.client("bob")
    await _allowed(bob, "create", "roles", "team")

    # escalation: a Role granting what bob lacks
    with pytest.raises(Forbidden, match="escalat"):
        await bob.create("roles", role("thief", "team", [rule(["secrets"], ["get", "list"])]))
    with pytest.raises(Forbidden, match="escalat"):
        await bob.create("roles", role("star", "team", [rule(["configmaps"], ["*"])]))
    # positive control: a Role within what bob holds
    await bob.create("roles", role("cm-reader", "team", [rule(["configmaps"], ["get"])]))
    # ... and patching it to grant more is escalation too
    with pytest.raises(Forbidden, match="escalat"):
        await bob.patch(
            "roles", "cm-reader", {"rules": [rule(["configmaps", "secrets"], ["get"])]}, "merge", "team"
        )
    with pytest.raises(Forbidden, match="escalat"):
        await bob.patch(
            "roles",
            "cm-reader",
            [{"op": "add", "path": "/rules/0/verbs/-", "value": "delete"}],
            "json",
            "team",
        )

    # binding: to a role bob does not hold
    with pytest.raises(Forbidden, match="bind"):
        await bob.create(
            "rolebindings", binding("RoleBinding", "me-admin", "ClusterRole", "cluster-admin", "bob", "team")
        )
    # positive control: binding a role whose rules bob holds
    await bob.create(
        "rolebindings", binding("RoleBinding", "alice-reads", "Role", "cm-reader", "alice", "team")
    )
    # an update of a binding that points it elsewhere is checked too
    with pytest.raises(Forbidden, match="bind"):
        await bob.patch("rolebindings", "alice-reads", {"roleRef": {"name": "x"}}, "merge", "team")

    # with escalate and bind granted, the same requests are allowed, as in Kubernetes
    await admin.create(
        "roles",
        role(
            "escalator",
            "team",
            [
                rule(["roles"], ["escalate"], RBAC),
                rule(["clusterroles"], ["bind"], RBAC, resourceNames=["cluster-admin"]),
            ],
        ),
    )
    await admin.create(
        "rolebindings", binding("RoleBinding", "bob-escalates", "Role", "escalator", "bob", "team")
    )
    await _allowed(bob, "escalate", "roles", "team")
    await bob.create("roles", role("thief", "team", [rule(["secrets"], ["get", "list"])]))
    await bob.create(
        "rolebindings", binding("RoleBinding", "me-admin", "ClusterRole", "cluster-admin", "bob", "team")
    )


async def test_impersonation_checks_every_group(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    await admin.create(
        "clusterroles",
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "impersonate-alice"},
            "rules": [rule(["users"], ["impersonate"], resourceNames=["alice"])],
        },
    )
    await admin.create(
        "clusterrolebindings",
        binding("ClusterRoleBinding", "bob-as-alice", "ClusterRole", "impersonate-alice", "bob"),
    )
    bob_bus = await secure.bus_as("bob")
    as_alice = ApiClient(bob_bus, timeout=5, impersonate="alice")

    async def can() -> bool:
        try:
            await as_alice.can_i("get", "pods", "default")
        except Forbidden:
            return False
        return True

    await eventually(can)  # positive control: the user alone is allowed
    as_master = ApiClient(bob_bus, timeout=5, impersonate="alice", impersonate_groups=["system:masters"])
    with pytest.raises(Forbidden, match='groups "system:masters" is forbidden'):
        await as_master.list("secrets", "kube-system")


async def test_a_kubelet_cannot_relabel_or_untaint_its_node(secure: SecureCluster) -> None:
    kubelet = await secure.client("node-n1")
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
        "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]},
    }
    await kubelet.create("nodes", node)
    with pytest.raises(Forbidden, match=r"node-restriction\.kubernetes\.io/"):
        await kubelet.patch(
            "nodes", "n1", {"metadata": {"labels": {"node-restriction.kubernetes.io/db": "yes"}}}
        )
    with pytest.raises(Forbidden, match=r"kubernetes\.io/hostname"):
        await kubelet.patch("nodes", "n1", {"metadata": {"labels": {"kubernetes.io/hostname": "n9"}}})
    with pytest.raises(Forbidden, match="taints"):
        await kubelet.patch("nodes", "n1", {"spec": {"taints": None}})
    # positive control: other labels, and the status (heartbeats)
    patched = await kubelet.patch("nodes", "n1", {"metadata": {"labels": {"zone": "a"}}})
    assert patched["metadata"]["labels"]["zone"] == "a"
    assert patched["spec"]["taints"][0]["key"] == "dedicated"
    # an admin may still do all three
    admin = await secure.client("admin")
    await admin.patch("nodes", "n1", {"spec": {"taints": None}})
