"""RBAC and the node authorizer as tables: a request in, allowed or not out."""

from __future__ import annotations

import pytest

from actors.api.authz.node import node_allows, referenced
from actors.api.authz.rbac import Attributes, Policy, authorize, forbidden_message
from bus.auth import UserInfo, impersonated, user_info

BOB = UserInfo("bob", ("devs", "system:authenticated"))

POLICY = Policy(
    roles={
        "a/pod-reader": {
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
        },
        "a/one-cm": {
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["only"], "verbs": ["get"]}
            ]
        },
    },
    cluster_roles={
        "deployer": {
            "rules": [
                {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"], "verbs": ["*"]}
            ]
        },
        "status-writer": {"rules": [{"apiGroups": [""], "resources": ["pods/status"], "verbs": ["update"]}]},
    },
    role_bindings={
        "a/bob-pods": {
            "metadata": {"name": "bob-pods", "namespace": "a"},
            "subjects": [{"kind": "User", "name": "bob"}],
            "roleRef": {"kind": "Role", "name": "pod-reader"},
        },
        "a/bob-cm": {
            "metadata": {"name": "bob-cm", "namespace": "a"},
            "subjects": [{"kind": "User", "name": "bob"}],
            "roleRef": {"kind": "Role", "name": "one-cm"},
        },
        "b/devs-deploy": {
            "metadata": {"name": "devs-deploy", "namespace": "b"},
            "subjects": [{"kind": "Group", "name": "devs"}],
            "roleRef": {"kind": "ClusterRole", "name": "deployer"},
        },
    },
    cluster_role_bindings={
        "sa-status": {
            "metadata": {"name": "sa-status"},
            "subjects": [{"kind": "ServiceAccount", "name": "ctl", "namespace": "kube-system"}],
            "roleRef": {"kind": "ClusterRole", "name": "status-writer"},
        }
    },
)


@pytest.mark.parametrize(
    ("user", "attrs", "allowed"),
    [
        (BOB, Attributes("get", "pods", namespace="a", name="x"), True),
        (BOB, Attributes("watch", "pods", namespace="a"), True),
        (BOB, Attributes("delete", "pods", namespace="a", name="x"), False),
        (BOB, Attributes("get", "pods", namespace="b", name="x"), False),
        (BOB, Attributes("list", "pods"), False),  # all namespaces: a RoleBinding does not reach
        (BOB, Attributes("get", "configmaps", namespace="a", name="only"), True),
        (BOB, Attributes("get", "configmaps", namespace="a", name="other"), False),
        (
            BOB,
            Attributes("create", "deployments", "apps", namespace="b"),
            True,
        ),  # via group, ClusterRole in ns
        (BOB, Attributes("update", "deployments", "apps", "scale", namespace="b", name="d"), True),
        (BOB, Attributes("create", "deployments", "apps", namespace="a"), False),
        (BOB, Attributes("create", "deployments", "", namespace="b"), False),  # wrong group
        (
            UserInfo("system:serviceaccount:kube-system:ctl"),
            Attributes("update", "pods", "", "status", "x", "p"),
            True,
        ),
        (
            UserInfo("system:serviceaccount:kube-system:ctl"),
            Attributes("update", "pods", namespace="x", name="p"),
            False,
        ),
        (UserInfo("root", ("system:masters",)), Attributes("delete", "nodes", name="n"), True),
    ],
)
def test_rbac(user: UserInfo, attrs: Attributes, allowed: bool) -> None:
    assert authorize(user, attrs, POLICY)[0] is allowed


def test_forbidden_message_is_kubernetes_own() -> None:
    assert forbidden_message(BOB, Attributes("list", "deployments", "apps", namespace="a")) == (
        'deployments.apps is forbidden: User "bob" cannot list resource "deployments" in API group "apps" '
        'in the namespace "a"'
    )
    assert forbidden_message(BOB, Attributes("delete", "nodes", name="n1")) == (
        'nodes "n1" is forbidden: User "bob" cannot delete resource "nodes" in API group "" '
        "at the cluster scope"
    )


def test_users_come_from_nats_user_names() -> None:
    assert user_info("admin").is_master
    assert user_info("node-my_host").node == "my.host"
    assert user_info("viewer") == UserInfo("viewer")
    assert impersonated("system:node:x").node == "x"


POD_N1 = {
    "metadata": {"namespace": "default", "name": "p"},
    "spec": {
        "nodeName": "n1",
        "imagePullSecrets": [{"name": "pull"}],
        "volumes": [
            {"name": "s", "secret": {"secretName": "vol"}},
            {"name": "c", "configMap": {"name": "cfg"}},
            {"name": "pj", "projected": {"sources": [{"secret": {"name": "proj"}}]}},
        ],
        "containers": [
            {
                "name": "c",
                "env": [{"name": "E", "valueFrom": {"secretKeyRef": {"name": "env", "key": "k"}}}],
                "envFrom": [{"configMapRef": {"name": "envfrom"}}],
            }
        ],
    },
}


def test_secret_and_configmap_references() -> None:
    assert {n for _, n in referenced([POD_N1], "secrets")} == {"pull", "vol", "proj", "env"}
    assert {n for _, n in referenced([POD_N1], "configmaps")} == {"cfg", "envfrom"}


@pytest.mark.parametrize(
    ("attrs", "target", "allowed"),
    [
        (Attributes("patch", "nodes", name="n1"), None, True),
        (Attributes("update", "nodes", name="n2"), None, False),
        (Attributes("get", "nodes", name="n2"), None, True),
        (Attributes("delete", "nodes", name="n1"), None, False),
        (Attributes("update", "pods", "", "status", "default", "p"), POD_N1, True),
        (Attributes("update", "pods", "", "", "default", "p"), POD_N1, False),
        (Attributes("update", "pods", "", "status", "default", "q"), {"spec": {"nodeName": "n2"}}, False),
        (Attributes("delete", "pods", namespace="default", name="p"), POD_N1, True),
        (Attributes("list", "pods", namespace="default"), None, False),
        (Attributes("get", "secrets", namespace="default", name="env"), None, True),
        (Attributes("get", "secrets", namespace="other", name="env"), None, False),
        (Attributes("list", "secrets", namespace="default"), None, False),
        (Attributes("get", "configmaps", namespace="default", name="envfrom"), None, True),
        (Attributes("watch", "services"), None, True),
        (Attributes("create", "events", namespace="default"), None, True),
        (Attributes("create", "deployments", "apps", namespace="default"), None, False),
        (Attributes("nodepods", "nodepods", name="n1"), None, True),
        (Attributes("nodepods", "nodepods", name="n2"), None, False),
    ],
)
def test_node_authorizer(attrs: Attributes, target: dict | None, allowed: bool) -> None:
    assert node_allows("n1", attrs, node_pods=[POD_N1], target=target)[0] is allowed


def test_a_node_registers_only_its_own_node() -> None:
    attrs = Attributes("create", "nodes")
    assert node_allows("n1", attrs, body={"metadata": {"name": "n1"}})[0]
    assert not node_allows("n1", attrs, body={"metadata": {"name": "n2"}})[0]


def test_a_node_creates_only_mirror_pods_bound_to_itself() -> None:
    attrs = Attributes("create", "pods", namespace="default")
    assert node_allows("n1", attrs, body={"spec": {"nodeName": "n1"}})[0]
    assert not node_allows("n1", attrs, body={"spec": {"nodeName": "n2"}})[0]
