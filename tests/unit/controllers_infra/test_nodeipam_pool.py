"""The node IPAM pool as tables: flags checked, taken subnets, the next free one."""

from __future__ import annotations

import pytest

from actors.admission.nodecidr import check_node_update
from actors.nodeipam.pool import first_free, occupied, parse_pool, with_cidr
from schemas.errors import BadRequest, Invalid
from schemas.validation import errors_for


def node(name: str, cidr: str | None = None) -> dict:
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec}


def pod(ip: str | None, *, host_network: bool = False) -> dict:
    return {"spec": {"hostNetwork": host_network}, "status": {"podIP": ip} if ip else {}}


@pytest.mark.parametrize(
    ("cidr", "mask", "flag"),
    [
        ("bogus", 24, "--cluster-cidr"),
        ("10.244.0.1/16", 24, "--cluster-cidr"),  # host bits set
        ("fd00::/64", 80, "--cluster-cidr"),
        ("10.244.0.0/16", 16, "--node-cidr-mask-size"),
        ("10.244.0.0/16", 31, "--node-cidr-mask-size"),
        ("10.0.0.0/8", 25, "--node-cidr-mask-size"),  # 17 bits of subnets
    ],
)
def test_bad_flags_name_the_flag(cidr: str, mask: int, flag: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_pool(cidr, mask)
    assert err.value.message.startswith(f"{flag}: Invalid value")


def test_pool_cuts_the_cluster_cidr() -> None:
    pool = parse_pool("10.244.0.0/16", 24)
    assert pool.size == 256
    assert str(pool.subnet(0)) == "10.244.0.0/24"
    assert str(pool.subnet(255)) == "10.244.255.0/24"
    assert str(parse_pool("10.8.0.0/14", 26).subnet(5)) == "10.8.1.64/26"


@pytest.mark.parametrize(
    ("nodes", "pods", "expected"),
    [
        ([], [], "10.244.0.0/24"),
        ([node("a", "10.244.0.0/24")], [], "10.244.1.0/24"),
        ([node("a", "10.244.0.0/24"), node("b", "10.244.2.0/24")], [], "10.244.1.0/24"),
        # a deleted node's pod still in the store holds its subnet
        ([node("a", "10.244.0.0/24")], [pod("10.244.1.7")], "10.244.2.0/24"),
        # host-network pods and pods without IPs hold nothing; subnets outside the pool are ignored
        ([node("a", "192.168.0.0/24")], [pod("10.244.0.9", host_network=True), pod(None)], "10.244.0.0/24"),
    ],
)
def test_first_free(nodes: list[dict], pods: list[dict], expected: str) -> None:
    pool = parse_pool("10.244.0.0/16", 24)
    assert str(first_free(pool, occupied(pool, nodes, pods))) == expected


def test_exhausted_pool() -> None:
    pool = parse_pool("10.244.0.0/23", 24)
    nodes = [node("a", "10.244.0.0/24"), node("b", "10.244.1.0/24")]
    assert first_free(pool, occupied(pool, nodes, [])) is None


def test_with_cidr_sets_both_fields_and_keeps_the_revision() -> None:
    n = node("a")
    n["metadata"]["resourceVersion"] = "7"
    out = with_cidr(n, "10.244.3.0/24")
    assert out["spec"] == {"podCIDR": "10.244.3.0/24", "podCIDRs": ["10.244.3.0/24"]}
    assert out["metadata"]["resourceVersion"] == "7"
    assert n["spec"] == {}  # the cached object is not changed


@pytest.mark.parametrize(
    ("old", "new", "refused"),
    [
        (None, "10.244.1.0/24", False),
        ("10.244.1.0/24", "10.244.1.0/24", False),
        ("10.244.1.0/24", "10.244.2.0/24", True),
        ("10.244.1.0/24", None, True),
    ],
)
def test_a_set_subnet_is_immutable(old: str | None, new: str | None, refused: bool) -> None:
    if refused:
        with pytest.raises(Invalid) as err:
            check_node_update(node("a", new), node("a", old))
        assert "spec.podCIDRs" in str(err.value.message)
    else:
        check_node_update(node("a", new), node("a", old))


def test_validation_names_the_bad_cidr_field() -> None:
    bad = node("a")
    bad["spec"] = {"podCIDR": "10.244.1.0/99", "podCIDRs": ["10.244.1.0/99"]}
    paths = [e.field for e in errors_for("Node", bad)]
    assert paths == ["spec.podCIDR", "spec.podCIDRs[0]"]


def test_a_kubelet_may_not_set_its_own_subnet() -> None:
    from actors.api.authz.escalation import node_restriction_refusal

    old = node("n1")
    assert node_restriction_refusal("n1", node("n1", "10.244.9.0/24"), old) == (
        "node 'n1' is not allowed to modify podCIDRs (NodeRestriction)"
    )
    assert node_restriction_refusal("n1", node("n1"), old) is None
