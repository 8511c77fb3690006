"""RBAC and the node authorizer as tables: a request in, allowed or not out."""

from __future__ import annotations

import pytest

from actors.api.authz.node import (
    MIRROR_ANNOTATION,
    mirror_pod_refusal,
    node_allows,
    node_restricted,
    referenced,
)
from actors.api.authz.rbac import Attributes, Policy, authorize, forbidden_message
from bus.auth import UserInfo, impersonated, user_info

CLUSTER_CONFIG = "jetkube-cluster-config"
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
    ceph = {"spec": {"volumes": [{"name": "f", "cephfs": {"monitors": ["m"], "secretRef": {"name": "key"}}}]}}
    assert referenced([ceph], "secrets") == {("default", "key")}  # the kubelet reads it to mount


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
        # the pod network's configuration the node IPAM publishes: its flannel agent reads it
        (Attributes("get", "configmaps", namespace="kube-system", name=CLUSTER_CONFIG), None, True),
        (Attributes("update", "configmaps", namespace="kube-system", name=CLUSTER_CONFIG), None, False),
        (Attributes("get", "configmaps", namespace="default", name=CLUSTER_CONFIG), None, False),
        (Attributes("get", "configmaps", namespace="kube-system", name="other"), None, False),
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


@pytest.mark.parametrize(
    ("verb", "namespace", "name", "allowed"),
    [
        ("create", "kube-node-lease", "n1", True),
        ("get", "kube-node-lease", "n1", True),
        ("update", "kube-node-lease", "n1", True),
        ("update", "kube-node-lease", "n2", False),  # another node's heartbeat
        ("delete", "kube-node-lease", "n1", False),
        ("list", "kube-node-lease", "", False),
        ("update", "kube-system", "n1", False),  # leader-election leases are not a node's
    ],
)
def test_a_node_renews_only_its_own_lease(verb: str, namespace: str, name: str, allowed: bool) -> None:
    attrs = Attributes(verb, "leases", namespace=namespace, name="" if verb == "create" else name)
    body = {"metadata": {"name": name, "namespace": namespace}} if verb == "create" else None
    assert node_allows("n1", attrs, body=body)[0] is allowed


def mirror(node: str = "n1", **spec: object) -> dict:
    """A mirror pod as the kubelet of ``node`` posts it (actors/kubelet/static_plan.mirror_pod)."""
    return {
        "metadata": {
            "name": "web-n1",
            "namespace": "kube-system",
            "annotations": {MIRROR_ANNOTATION: "hash"},
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": node, "uid": "u", "controller": True}
            ],
        },
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}], **spec},
    }


CREATE_POD = Attributes("create", "pods", namespace="kube-system")


def test_a_node_creates_only_mirror_pods_bound_to_itself() -> None:
    assert node_allows("n1", CREATE_POD, body=mirror()) == (True, "a mirror pod bound to it")
    assert node_allows(
        "n1", CREATE_POD, body=mirror(hostNetwork=True, volumes=[{"name": "h", "hostPath": {}}])
    )[0]
    plain = mirror()
    del plain["metadata"]["annotations"]
    ok, why = node_allows("n1", CREATE_POD, body=plain)
    assert not ok
    assert why == (
        "node 'n1' may only create mirror pods (annotation kubernetes.io/config.mirror), "
        "and pod kube-system/web-n1 is not one"
    )
    ok, why = node_allows("n1", CREATE_POD, body=mirror("n2"))
    assert not ok and "may only create pods bound to itself" in why
    assert not node_allows("n1", CREATE_POD, body={"spec": {"nodeName": "n1"}})[0]  # the audit's hole
    assert not node_allows("n1", CREATE_POD, body=None)[0]
    assert node_restricted(CREATE_POD)
    assert not node_restricted(Attributes("get", "pods", namespace="default", name="p"))


def owned(*refs: dict) -> dict:
    pod = mirror()
    pod["metadata"]["ownerReferences"] = list(refs)
    return pod


NODE_REF = {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "u", "controller": True}


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (owned(), "a single owner reference set to itself, and pod kube-system/web-n1 has 0"),
        (
            owned(NODE_REF, NODE_REF),
            "a single owner reference set to itself, and pod kube-system/web-n1 has 2",
        ),
        (owned({**NODE_REF, "name": "n2"}), "an owner reference set to itself (v1 Node 'n1'), and pod"),
        (owned({**NODE_REF, "kind": "ReplicaSet"}), "is owned by ReplicaSet 'n1'"),
        (owned({**NODE_REF, "controller": False}), "a controller owner reference set to itself"),
        (owned({**NODE_REF, "blockOwnerDeletion": True}), "must not set blockOwnerDeletion"),
    ],
)
def test_a_mirror_pod_is_owned_by_its_node_alone(body: dict, rule: str) -> None:
    ok, why = node_allows("n1", CREATE_POD, body=body)
    assert not ok
    assert rule in why


C = "spec.containers[0]"


@pytest.mark.parametrize(
    ("spec", "refusal"),
    [
        (
            {"volumes": [{"name": "s", "secret": {"secretName": "db"}}]},
            "secrets: mirror pod kube-system/web-n1 refers to secret 'db' (spec.volumes[0].secret)",
        ),
        ({"imagePullSecrets": [{"name": "pull"}]}, "secret 'pull' (spec.imagePullSecrets[0])"),
        (
            {"volumes": [{"name": "c", "configMap": {"name": "cfg"}}]},
            "configmap 'cfg' (spec.volumes[0].configMap)",
        ),
        (
            {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}]},
            "refer to persistentvolumeclaims: mirror pod kube-system/web-n1 "
            "refers to persistentvolumeclaim 'data'",
        ),
        (
            {"volumes": [{"name": "e", "ephemeral": {}}]},
            "persistentvolumeclaim 'web-n1-e' (spec.volumes[0].ephemeral)",
        ),
        (
            {"volumes": [{"name": "f", "cephfs": {"monitors": ["m"], "secretRef": {"name": "ceph"}}}]},
            "secret 'ceph' (spec.volumes[0].cephfs.secretRef)",
        ),
        (
            {
                "volumes": [
                    {"name": "p", "projected": {"sources": [{"downwardAPI": {}}, {"secret": {"name": "x"}}]}}
                ]
            },
            "secret 'x' (spec.volumes[0].projected.sources[1].secret)",
        ),
        (
            {"volumes": [{"name": "p", "projected": {"sources": [{"configMap": {"name": "y"}}]}}]},
            "configmap 'y' (spec.volumes[0].projected.sources[0].configMap)",
        ),
        (
            {"volumes": [{"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]},
            "refer to serviceaccounts: mirror pod kube-system/web-n1 refers to serviceaccount "
            "(spec.volumes[0].projected.sources[0].serviceAccountToken)",
        ),
        (
            {"volumes": [{"name": "p", "projected": {"sources": [{"clusterTrustBundle": {"path": "b"}}]}}]},
            "refer to clustertrustbundles",
        ),
        ({"serviceAccountName": "default"}, "serviceaccount 'default' (spec.serviceAccountName)"),
        ({"serviceAccount": "builder"}, "serviceaccount 'builder' (spec.serviceAccount)"),
        (
            {
                "containers": [
                    {"name": "c", "env": [{"name": "E", "valueFrom": {"secretKeyRef": {"name": "s"}}}]}
                ]
            },
            f"secret 's' ({C}.env[0].valueFrom.secretKeyRef)",
        ),
        (
            {
                "containers": [
                    {"name": "c", "env": [{"name": "E", "valueFrom": {"configMapKeyRef": {"name": "m"}}}]}
                ]
            },
            f"configmap 'm' ({C}.env[0].valueFrom.configMapKeyRef)",
        ),
        (
            {"initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "s"}}]}]},
            "secret 's' (spec.initContainers[0].envFrom[0].secretRef)",
        ),
        (
            {"ephemeralContainers": [{"name": "d", "envFrom": [{"configMapRef": {"name": "m"}}]}]},
            "configmap 'm' (spec.ephemeralContainers[0].envFrom[0].configMapRef)",
        ),
    ],
)
def test_a_mirror_pod_refers_to_no_api_object(spec: dict, refusal: str) -> None:
    ok, why = node_allows("n1", CREATE_POD, body=mirror(**spec))
    assert not ok
    assert why.startswith("node 'n1' may not create pods that refer to ")
    assert refusal in why


def test_a_mirror_pod_refusal_names_the_service_account_first() -> None:
    body = mirror(serviceAccountName="sa", volumes=[{"name": "s", "secret": {"secretName": "db"}}])
    assert "serviceaccount 'sa'" in (mirror_pod_refusal("n1", body) or "")
    assert mirror_pod_refusal("n1", mirror()) is None


def test_mirror_pods_grant_a_node_no_secret_configmap_or_claim() -> None:
    """A node makes its mirror pods itself: what they name stays out of its reach, even when the
    pod got in some other way (an admin, or from before the create check)."""
    spec = {
        "volumes": [
            {"name": "s", "secret": {"secretName": "db"}},
            {"name": "c", "configMap": {"name": "cfg"}},
            {"name": "v", "persistentVolumeClaim": {"claimName": "data"}},
        ]
    }
    forged = mirror(**spec)
    for res, name in (("secrets", "db"), ("configmaps", "cfg"), ("persistentvolumeclaims", "data")):
        attrs = Attributes("get", res, namespace="kube-system", name=name)
        ok, why = node_allows("n1", attrs, node_pods=[forged])
        assert not ok
        assert why == "no pod bound to node 'n1' refers to it (its mirror pods do not count)"
        regular = {**forged, "metadata": {"name": "app", "namespace": "kube-system"}}
        assert node_allows("n1", attrs, node_pods=[forged, regular])[0]


def test_the_kubelets_own_mirror_pods_pass() -> None:
    """What actors/kubelet/static_plan.py posts for a plain static pod is accepted."""
    from actors.kubelet.static_plan import mirror_pod, static_pod

    static = static_pod(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "kube-system", "labels": {"tier": "cp"}},
            "spec": {
                "hostNetwork": True,
                "containers": [{"name": "c", "image": "nginx", "env": [{"name": "A", "value": "b"}]}],
                "volumes": [{"name": "h", "hostPath": {"path": "/etc"}}, {"name": "e", "emptyDir": {}}],
            },
        },
        "n1",
    )
    assert node_allows("n1", CREATE_POD, body=mirror_pod(static, "n1", "uid-1"))[0]
    assert not node_allows("n2", CREATE_POD, body=mirror_pod(static, "n1", "uid-1"))[0]
