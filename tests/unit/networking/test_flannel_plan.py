"""The pod network's plan as tables: Nodes in, routes / neighbours / fdb entries and rules out."""

from __future__ import annotations

import ipaddress
import json

import pytest

from actors.flannel import plan
from actors.flannel.plan import Fdb, Neigh, Route, State


def node(name: str, cidr: str | None, ip: str | None, backend: str = "vxlan", mac: str | None = None) -> dict:
    ann = {}
    if ip:
        ann[plan.PUBLIC_IP] = ip
        ann[plan.BACKEND_TYPE] = backend
        ann[plan.BACKEND_DATA] = json.dumps({"VtepMAC": mac} if mac else {})
    return {"metadata": {"name": name, "annotations": ann}, "spec": {"podCIDR": cidr} if cidr else {}}


NODES = [
    node("n1", "10.244.1.0/24", "192.168.0.1", mac="aa:00:00:00:00:01"),
    node("n2", "10.244.2.0/24", "192.168.0.2", mac="AA:00:00:00:00:02"),
    node("n3", "10.244.3.0/24", "192.168.0.3", mac=None),  # no VtepMAC yet
    node("n4", None, "192.168.0.4"),  # no subnet yet
    node("n5", "10.244.5.0/24", None),  # not annotated yet
]
OWN = ipaddress.IPv4Network("10.244.1.0/24")


def test_peers_are_the_other_annotated_nodes_with_subnets() -> None:
    assert [p.name for p in plan.peers(NODES, "n1")] == ["n2", "n3"]


def test_vxlan_routes_onlink_via_the_vtep_with_neighbour_and_fdb() -> None:
    want = plan.desired("vxlan", plan.peers(NODES, "n1"), iface="eth0", own=OWN)
    assert want == State(
        routes=frozenset({Route("10.244.2.0/24", "10.244.2.0", "flannel.1", onlink=True)}),
        neighs=frozenset({Neigh("10.244.2.0", "aa:00:00:00:00:02", "flannel.1")}),
        fdbs=frozenset({Fdb("aa:00:00:00:00:02", "192.168.0.2", "flannel.1")}),
    )


def test_host_gw_routes_via_the_public_ip() -> None:
    want = plan.desired("host-gw", plan.peers(NODES, "n1"), iface="eth0", own=OWN)
    assert want == State(
        routes=frozenset(
            {Route("10.244.2.0/24", "192.168.0.2", "eth0"), Route("10.244.3.0/24", "192.168.0.3", "eth0")}
        )
    )


def test_a_peer_claiming_the_own_subnet_is_ignored() -> None:
    stale = [node("old", "10.244.1.0/24", "192.168.0.9", mac="aa:00:00:00:00:09")]
    assert plan.desired("host-gw", plan.peers(stale, "n1"), iface="eth0", own=OWN) == State()


R2 = Route("10.244.2.0/24", "192.168.0.2", "eth0")
R2_MOVED = Route("10.244.2.0/24", "192.168.0.22", "eth0")
R3 = Route("10.244.3.0/24", "192.168.0.3", "eth0")


@pytest.mark.parametrize(
    ("want", "have", "add", "delete"),
    [
        ({R2, R3}, set(), [R2, R3], []),  # nodes joined
        ({R2}, {R2, R3}, [], [R3]),  # n3 left
        ({R2}, {R2}, [], []),  # nothing to do: a restart over a configured host
        ({R2_MOVED}, {R2}, [R2_MOVED], []),  # the node moved: replaced in place
    ],
)
def test_diff_routes(want: set[Route], have: set[Route], add: list[Route], delete: list[Route]) -> None:
    ch = plan.diff(State(routes=frozenset(want)), State(routes=frozenset(have)))
    assert (ch.add_routes, ch.del_routes) == (add, delete)
    assert bool(ch) == bool(add or delete)


def test_diff_fdb_replaces_a_moved_vtep() -> None:
    old = Fdb("aa:00:00:00:00:02", "192.168.0.2", "flannel.1")
    new = Fdb("aa:00:00:00:00:02", "192.168.0.22", "flannel.1")
    ch = plan.diff(State(fdbs=frozenset({new})), State(fdbs=frozenset({old})))
    assert (ch.add_fdbs, ch.del_fdbs) == ([new], [old])


def test_managed_routes_leave_the_own_subnet_and_foreign_routes() -> None:
    routes = [
        Route("10.244.1.0/24", "10.244.1.1", "br-x"),  # own
        Route("10.244.2.0/24", "192.168.0.2", "eth0"),
        Route("172.17.0.0/16", "192.168.0.254", "eth0"),  # not the cluster's
        Route("10.244.0.0/16", "192.168.0.254", "eth0"),  # the whole cluster CIDR: someone else's
    ]
    kept = plan.managed_routes(routes, ipaddress.IPv4Network("10.244.0.0/16"), OWN)
    assert kept.routes == frozenset({Route("10.244.2.0/24", "192.168.0.2", "eth0")})


def test_annotations_and_mtu() -> None:
    assert plan.annotations("vxlan", "192.168.0.1", "aa:bb:cc:dd:ee:ff") == {
        plan.BACKEND_TYPE: "vxlan",
        plan.BACKEND_DATA: '{"VtepMAC":"aa:bb:cc:dd:ee:ff"}',
        plan.PUBLIC_IP: "192.168.0.1",
    }
    assert plan.annotations("host-gw", "192.168.0.1", None)[plan.BACKEND_DATA] == "{}"
    assert plan.pod_mtu("vxlan", 1500) == 1450
    assert plan.pod_mtu("host-gw", 1500) == 1500


def test_masquerade_only_traffic_leaving_the_cluster() -> None:
    rules = plan.masquerade_rules(ipaddress.IPv4Network("10.244.0.0/16"), OWN, chain="C")
    assert rules[0] == ["-A", "C", "-s", "10.244.0.0/16", "-d", "10.244.0.0/16", "-j", "RETURN"]
    assert rules[1][:7] == ["-A", "C", "-s", "10.244.0.0/16", "!", "-d", "224.0.0.0/4"]
    assert rules[1][-3:] == ["-j", "MASQUERADE", "--random-fully"]
    assert plan.forward_rules(ipaddress.IPv4Network("10.244.0.0/16"), chain="F") == [
        ["-A", "F", "-s", "10.244.0.0/16", "-j", "ACCEPT"],
        ["-A", "F", "-d", "10.244.0.0/16", "-j", "ACCEPT"],
    ]
