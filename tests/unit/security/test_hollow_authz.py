"""What the hollow-node fleet's identity may do (actors/api/authz/hollow.py, bus/auth.py): tables."""

from __future__ import annotations

import pytest

from actors.api.authz.hollow import HOLLOW_LABEL, hollow_allows
from actors.api.authz.rbac import Attributes
from actors.hollow.objects import hollow_node
from bus.auth import HOLLOW, STATE_WRITES, permissions, user_info

HOLLOW_NODE = hollow_node("hollow-0", 0)
REAL_NODE = {"metadata": {"name": "worker-1", "labels": {"kubernetes.io/hostname": "worker-1"}}}
POD_ON_HOLLOW = {"metadata": {"name": "p"}, "spec": {"nodeName": "hollow-0"}}
POD_ON_REAL = {"metadata": {"name": "q"}, "spec": {"nodeName": "worker-1"}}
UNBOUND = {"metadata": {"name": "r"}, "spec": {}}


def test_the_fleet_labels_its_nodes_as_the_authorizer_expects() -> None:
    assert HOLLOW_NODE["metadata"]["labels"][HOLLOW_LABEL[0]] == HOLLOW_LABEL[1]


def test_identity_and_nats_permissions() -> None:
    user = user_info(HOLLOW)
    assert user.hollow and not user.is_master and user.node is None
    assert user.name == "system:hollow-nodes"
    perms = permissions(HOLLOW)
    assert STATE_WRITES in perms["publish"]["deny"] and "jetkube.api.*" in perms["publish"]["deny"]
    assert ">" not in perms["publish"]["allow"]
    assert f"jetkube.api.u.{HOLLOW}.*" in perms["publish"]["allow"]
    assert "jetkube.nodepods.*" in perms["subscribe"]["allow"]
    assert not user_info("node-hollow-0").hollow and not user_info("viewer").hollow


def A(verb: str, resource: str, name: str = "", sub: str = "", ns: str = "") -> Attributes:
    return Attributes(verb=verb, resource=resource, subresource=sub, name=name, namespace=ns)


@pytest.mark.parametrize(
    ("attrs", "kw", "allowed"),
    [
        (A("nodepods", "nodepods", "hollow-0"), {"node": HOLLOW_NODE}, True),
        (A("create", "leases", ns="kube-node-lease"), {"node": HOLLOW_NODE}, True),
        (A("update", "leases", "hollow-0", ns="kube-node-lease"), {"node": HOLLOW_NODE}, True),
        (A("get", "leases", "hollow-0", ns="kube-node-lease"), {"node": HOLLOW_NODE}, True),
        (A("update", "leases", "worker-1", ns="kube-node-lease"), {"node": REAL_NODE}, False),
        (A("create", "leases", ns="kube-node-lease"), {}, False),  # no such Node
        (A("update", "leases", "hollow-0", ns="kube-system"), {"node": HOLLOW_NODE}, False),  # a controller's
        (A("delete", "leases", "hollow-0", ns="kube-node-lease"), {"node": HOLLOW_NODE}, False),
        (A("list", "services", ns="default"), {}, True),
        (A("create", "services", ns="default"), {}, False),
        (A("list", "secrets", ns="default"), {}, False),
        (A("nodepods", "nodepods", "worker-1"), {"node": REAL_NODE}, False),
        (A("nodepods", "nodepods", "nowhere"), {}, False),
        (A("list", "nodes"), {}, True),
        (A("get", "nodes", "worker-1"), {}, True),
        (A("create", "nodes"), {"body": hollow_node("hollow-9", 9)}, True),
        (A("create", "nodes"), {"body": REAL_NODE}, False),
        (A("update", "nodes", "hollow-0", "status"), {"node": HOLLOW_NODE, "body": HOLLOW_NODE}, True),
        (A("update", "nodes", "hollow-0"), {"node": HOLLOW_NODE, "body": REAL_NODE}, False),  # drops label
        (A("update", "nodes", "worker-1", "status"), {"node": REAL_NODE, "body": HOLLOW_NODE}, False),
        (A("patch", "nodes", "worker-1"), {"node": REAL_NODE}, False),
        (A("delete", "nodes", "hollow-0"), {"node": HOLLOW_NODE}, False),
        (A("update", "pods", "p", "status", "default"), {"target": POD_ON_HOLLOW, "node": HOLLOW_NODE}, True),
        (A("delete", "pods", "p", ns="default"), {"target": POD_ON_HOLLOW, "node": HOLLOW_NODE}, True),
        (A("get", "pods", "p", ns="default"), {"target": POD_ON_HOLLOW, "node": HOLLOW_NODE}, True),
        (A("update", "pods", "p", ns="default"), {"target": POD_ON_HOLLOW, "node": HOLLOW_NODE}, False),
        (A("update", "pods", "q", "status", "default"), {"target": POD_ON_REAL, "node": REAL_NODE}, False),
        (A("delete", "pods", "r", ns="default"), {"target": UNBOUND}, False),
        (A("create", "pods", ns="default"), {"body": POD_ON_HOLLOW}, False),
        (A("list", "pods"), {}, False),
        (A("create", "events", ns="default"), {}, True),
        (A("get", "secrets", "s", ns="default"), {}, False),
        (A("create", "deployments", ns="default"), {}, False),
    ],
)
def test_hollow_allows(attrs: Attributes, kw: dict, allowed: bool) -> None:
    ok, why = hollow_allows(attrs, **kw)
    assert ok is allowed, why
    assert why
