"""The default ClusterRoles and bindings the api writes at start (create-if-missing, as Kubernetes'
RBAC bootstrap does): ``cluster-admin``, ``admin``, ``edit``, ``view``; ``cluster-admin`` bound to the
group ``system:masters`` and ``view`` to jetkube's ``viewer`` user. Users may change them afterwards;
an existing object is never overwritten."""

from __future__ import annotations

from typing import Any

RBAC = "rbac.authorization.k8s.io"
RBAC_V1 = f"{RBAC}/v1"
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
WORKLOADS = {
    "": [
        "pods",
        "pods/log",
        "pods/status",
        "services",
        "endpoints",
        "configmaps",
        "replicationcontrollers",
        "replicationcontrollers/scale",
        "persistentvolumeclaims",
        "events",
        "resourcequotas",
        "limitranges",
        "namespaces",
    ],
    "apps": [
        "deployments",
        "deployments/scale",
        "replicasets",
        "replicasets/scale",
        "daemonsets",
        "statefulsets",
        "statefulsets/scale",
        "controllerrevisions",
    ],
    "batch": ["jobs", "cronjobs"],
    "autoscaling": ["horizontalpodautoscalers"],
    "networking.k8s.io": ["ingresses"],
}


def _rules(verbs: list[str], *, secrets: bool) -> list[dict[str, Any]]:
    out = []
    for group, resources in WORKLOADS.items():
        res = list(resources) + (["secrets"] if secrets and group == "" else [])
        out.append({"apiGroups": [group], "resources": res, "verbs": list(verbs)})
    return out


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
        (
            "clusterroles",
            _role(
                "admin",
                [
                    *_rules(READ + WRITE, secrets=True),
                    {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": READ + WRITE},
                ],
            ),
        ),
        ("clusterroles", _role("edit", _rules(READ + WRITE, secrets=True))),
        (
            "clusterroles",
            _role(
                "view",
                [*_rules(READ, secrets=False), {"apiGroups": [""], "resources": ["nodes"], "verbs": READ}],
            ),
        ),
        ("clusterrolebindings", _binding("cluster-admin", "cluster-admin", "Group", "system:masters")),
        ("clusterrolebindings", _binding("jetkube:viewer", "view", "User", "viewer")),
    ]
