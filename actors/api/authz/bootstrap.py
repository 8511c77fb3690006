"""The default ClusterRoles and bindings the api writes at start (create-if-missing, as Kubernetes'
RBAC bootstrap does): ``cluster-admin``, ``admin``, ``edit``, ``view`` with the rules Kubernetes'
bootstrap policy gives them (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go: the
``system:aggregate-to-{view,edit,admin}`` roles, flattened here since the roles are written whole):

- ``view`` reads the namespace's non-escalating objects and their ``/status``, ``/scale`` and
  ``pods/log``; not Secrets, not ``pods/exec`` and the other pod connections.
- ``edit`` is ``view`` plus writes on workloads, Services, ConfigMaps, Secrets, PVCs,
  ServiceAccounts, Ingresses, NetworkPolicies and PodDisruptionBudgets; the pod connections
  (``pods/exec``, ``pods/attach``, ``pods/portforward``, ``pods/proxy``: get and create),
  ``pods/eviction`` and ``serviceaccounts/token`` create. Not Endpoints (Kubernetes 1.22 took that
  away, CVE-2021-25740), Events, ResourceQuotas, LimitRanges, Namespaces or any ``/status``.
- ``admin`` is ``edit`` plus Roles, RoleBindings and LocalSubjectAccessReviews.

``cluster-admin`` is bound to the group ``system:masters``; ``view`` and ``jetkube:cluster-view``
(Nodes, read: what ``view`` cannot grant, Nodes being cluster-scoped) to jetkube's ``viewer`` user.
Users may change them afterwards; an existing object is never overwritten."""

from __future__ import annotations

from typing import Any

RBAC = "rbac.authorization.k8s.io"
RBAC_V1 = f"{RBAC}/v1"
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
POD_CONNECTIONS = ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]

VIEW: dict[str, list[str]] = {
    "": [
        "pods",
        "pods/status",
        "pods/log",
        "replicationcontrollers",
        "replicationcontrollers/scale",
        "replicationcontrollers/status",
        "serviceaccounts",
        "services",
        "services/status",
        "endpoints",
        "persistentvolumeclaims",
        "persistentvolumeclaims/status",
        "configmaps",
        "limitranges",
        "resourcequotas",
        "resourcequotas/status",
        "bindings",
        "events",
        "namespaces",
        "namespaces/status",
    ],
    "apps": [
        "controllerrevisions",
        "statefulsets",
        "statefulsets/status",
        "statefulsets/scale",
        "daemonsets",
        "daemonsets/status",
        "deployments",
        "deployments/status",
        "deployments/scale",
        "replicasets",
        "replicasets/status",
        "replicasets/scale",
    ],
    "autoscaling": ["horizontalpodautoscalers", "horizontalpodautoscalers/status"],
    "batch": ["jobs", "jobs/status", "cronjobs", "cronjobs/status"],
    "discovery.k8s.io": ["endpointslices"],
    "policy": ["poddisruptionbudgets", "poddisruptionbudgets/status"],
    "networking.k8s.io": ["ingresses", "ingresses/status", "networkpolicies"],
}

EDIT: dict[str, list[str]] = {
    "": [
        "pods",
        *POD_CONNECTIONS,
        "replicationcontrollers",
        "replicationcontrollers/scale",
        "serviceaccounts",
        "services",
        "services/proxy",
        "persistentvolumeclaims",
        "configmaps",
        "secrets",
    ],
    "apps": [
        "statefulsets",
        "statefulsets/scale",
        "daemonsets",
        "deployments",
        "deployments/scale",
        "deployments/rollback",
        "replicasets",
        "replicasets/scale",
    ],
    "autoscaling": ["horizontalpodautoscalers"],
    "batch": ["jobs", "cronjobs"],
    "policy": ["poddisruptionbudgets"],
    "networking.k8s.io": ["ingresses", "networkpolicies"],
}


def _rule(verbs: list[str], group: str, resources: list[str]) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}


def view_rules() -> list[dict[str, Any]]:
    return [_rule(READ, group, resources) for group, resources in VIEW.items()]


def edit_rules() -> list[dict[str, Any]]:
    return [
        *view_rules(),
        # reading the escalating ones: Secrets and the pod connections (kubectl exec asks get first)
        _rule(READ, "", [*POD_CONNECTIONS, "secrets", "services/proxy"]),
        _rule(["impersonate"], "", ["serviceaccounts"]),
        *(_rule(WRITE, group, resources) for group, resources in EDIT.items()),
        _rule(["create"], "", ["pods/eviction", "serviceaccounts/token"]),
    ]


def admin_rules() -> list[dict[str, Any]]:
    return [
        *edit_rules(),
        _rule(["create"], "authorization.k8s.io", ["localsubjectaccessreviews"]),
        _rule(READ + WRITE, RBAC, ["roles", "rolebindings"]),
    ]


def _role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "rules": rules,
    }


def _binding(name: str, role: str, kind: str, subject: str) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "subjects": [{"kind": kind, "apiGroup": RBAC, "name": subject}],
        "roleRef": {"kind": "ClusterRole", "apiGroup": RBAC, "name": role},
    }


def default_objects() -> list[tuple[str, dict[str, Any]]]:
    """(resource, object) pairs to create when missing."""
    return [
        ("clusterroles", _role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])),
        ("clusterroles", _role("admin", admin_rules())),
        ("clusterroles", _role("edit", edit_rules())),
        ("clusterroles", _role("view", view_rules())),
        ("clusterroles", _role("jetkube:cluster-view", [_rule(READ, "", ["nodes"])])),
        ("clusterrolebindings", _binding("cluster-admin", "cluster-admin", "Group", "system:masters")),
        ("clusterrolebindings", _binding("jetkube:viewer", "view", "User", "viewer")),
        ("clusterrolebindings", _binding("jetkube:viewer-nodes", "jetkube:cluster-view", "User", "viewer")),
    ]
