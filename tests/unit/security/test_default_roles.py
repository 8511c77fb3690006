"""The default ClusterRoles (actors/api/authz/bootstrap.py) decide as Kubernetes' bootstrap policy
does: a user bound to ``view``, ``edit`` or ``admin`` in namespace ``a`` asks, RBAC answers."""

from __future__ import annotations

import pytest

from actors.api.authz.bootstrap import default_objects
from actors.api.authz.rbac import Attributes, Policy, authorize
from bus.auth import UserInfo
from schemas.decode import normalize


def _policy() -> Policy:
    objects = [(resource, normalize(obj)) for resource, obj in default_objects()]
    cluster_roles = {o["metadata"]["name"]: o for r, o in objects if r == "clusterroles"}
    bindings = {o["metadata"]["name"]: o for r, o in objects if r == "clusterrolebindings"}
    role_bindings = {
        f"a/{who}": {
            "metadata": {"name": who, "namespace": "a"},
            "subjects": [{"kind": "User", "name": who}],
            "roleRef": {"kind": "ClusterRole", "name": role},
        }
        for who, role in (("vera", "view"), ("eddie", "edit"), ("ada", "admin"))
    }
    return Policy(
        roles={}, cluster_roles=cluster_roles, role_bindings=role_bindings, cluster_role_bindings=bindings
    )


POLICY = _policy()


def can(user: str, verb: str, resource: str, group: str = "", sub: str = "") -> bool:
    who = UserInfo(user, ("system:authenticated",))
    return authorize(who, Attributes(verb, resource, group, sub, namespace="a", name="x"), POLICY)[0]


# (verb, resource, group, subresource) -> who may: view, edit, admin
CASES = [
    (("get", "pods", "", ""), (True, True, True)),
    (("get", "pods", "", "log"), (True, True, True)),
    (("get", "deployments", "apps", "status"), (True, True, True)),
    (("get", "secrets", "", ""), (False, True, True)),
    (("create", "pods", "", "portforward"), (False, True, True)),
    (("get", "pods", "", "portforward"), (False, True, True)),
    (("create", "pods", "", "exec"), (False, True, True)),
    (("get", "pods", "", "exec"), (False, True, True)),
    (("create", "pods", "", "attach"), (False, True, True)),
    (("create", "pods", "", "eviction"), (False, True, True)),
    (("create", "serviceaccounts", "", "token"), (False, True, True)),
    (("create", "pods", "", ""), (False, True, True)),
    (("patch", "deployments", "apps", "scale"), (False, True, True)),
    (("create", "networkpolicies", "networking.k8s.io", ""), (False, True, True)),
    (("create", "poddisruptionbudgets", "policy", ""), (False, True, True)),
    (("update", "pods", "", "status"), (False, False, False)),  # /status is the system's
    (("create", "endpoints", "", ""), (False, False, False)),  # CVE-2021-25740
    (("create", "resourcequotas", "", ""), (False, False, False)),
    (("delete", "namespaces", "", ""), (False, False, False)),
    (("create", "rolebindings", "rbac.authorization.k8s.io", ""), (False, False, True)),
    (("create", "localsubjectaccessreviews", "authorization.k8s.io", ""), (False, False, True)),
]


@pytest.mark.parametrize(("request_", "expected"), CASES, ids=lambda v: "/".join(v) if len(v) == 4 else None)
def test_default_roles_decide_as_kubernetes(
    request_: tuple[str, str, str, str], expected: tuple[bool, ...]
) -> None:
    verb, resource, group, sub = request_
    got = tuple(can(who, verb, resource, group, sub) for who in ("vera", "eddie", "ada"))
    assert got == expected, f"{verb} {resource}/{sub}: view, edit, admin"


def test_jetkube_viewer_reads_nodes_and_cluster_admin_does_anything() -> None:
    viewer = UserInfo("viewer", ("system:authenticated",))
    assert authorize(viewer, Attributes("list", "nodes"), POLICY)[0]
    assert authorize(viewer, Attributes("list", "pods", namespace="z"), POLICY)[0]
    assert not authorize(viewer, Attributes("create", "pods", "", "portforward", namespace="z"), POLICY)[0]
    master = UserInfo("root", ("system:masters",))
    assert authorize(master, Attributes("create", "pods", "", "portforward", namespace="z"), POLICY)[0]
