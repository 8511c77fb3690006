"""What a node's network should look like, from the Node list. No I/O.

Each Node carries, as flannel's kube subnet manager writes them:

- ``spec.podCIDR``: its subnet of the cluster CIDR (actors/nodeipam);
- ``flannel.alpha.coreos.com/backend-type``: ``vxlan`` or ``host-gw``;
- ``flannel.alpha.coreos.com/backend-data``: for vxlan ``{"VtepMAC": "..."}``;
- ``flannel.alpha.coreos.com/public-ip``: the address other nodes reach it at.

Backends (flannel's own two):

- **host-gw**: ``<subnet> via <public ip> dev <iface>`` (the nodes share an L2 network).
- **vxlan**: the device ``flannel.1`` (VNI 1, UDP 8472) holds ``<own subnet>.0/32``; for each peer
  ``<subnet> via <subnet>.0 dev flannel.1 onlink``, a permanent neighbour ``<subnet>.0 lladdr
  <VtepMAC>`` and a forwarding entry ``<VtepMAC> dst <public ip>``: the kernel encapsulates to the
  right host without any learning or multicast.

:func:`diff` compares the desired entries with those read from the host (keyed by destination, so
a peer whose address or MAC moved is replaced) and returns what to add and what to remove. The
masquerade and forward rules are flannel's: pod traffic to the cluster CIDR is never NATed (a pod
sees the other pod's own address), traffic leaving it is.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Obj = Mapping[str, Any]
Backend = Literal["vxlan", "host-gw"]
BACKENDS: tuple[Backend, ...] = ("vxlan", "host-gw")

BACKEND_TYPE = "flannel.alpha.coreos.com/backend-type"
BACKEND_DATA = "flannel.alpha.coreos.com/backend-data"
PUBLIC_IP = "flannel.alpha.coreos.com/public-ip"

VXLAN_DEVICE = "flannel.1"
VXLAN_VNI = 1
VXLAN_PORT = 8472
VXLAN_OVERHEAD = 50  # outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14

NAT_CHAIN = "FLANNEL-POSTRTG"
FORWARD_CHAIN = "FLANNEL-FWD"


@dataclass(frozen=True)
class Peer:
    name: str
    subnet: ipaddress.IPv4Network
    public_ip: str
    backend: str
    vtep_mac: str | None = None


@dataclass(frozen=True, order=True)
class Route:
    dst: str
    via: str
    dev: str
    onlink: bool = False


@dataclass(frozen=True, order=True)
class Neigh:
    ip: str
    mac: str
    dev: str


@dataclass(frozen=True, order=True)
class Fdb:
    mac: str
    dst: str
    dev: str


@dataclass(frozen=True)
class State:
    """Entries for the other nodes' subnets (the own subnet's route belongs to the pod bridge)."""

    routes: frozenset[Route] = frozenset()
    neighs: frozenset[Neigh] = frozenset()
    fdbs: frozenset[Fdb] = frozenset()


@dataclass
class Changes:
    add_routes: list[Route] = field(default_factory=list)
    del_routes: list[Route] = field(default_factory=list)
    add_neighs: list[Neigh] = field(default_factory=list)
    del_neighs: list[Neigh] = field(default_factory=list)
    add_fdbs: list[Fdb] = field(default_factory=list)
    del_fdbs: list[Fdb] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(
            (self.add_routes, self.del_routes, self.add_neighs, self.del_neighs, self.add_fdbs, self.del_fdbs)
        )


def node_subnet(node: Obj) -> ipaddress.IPv4Network | None:
    spec = node.get("spec") or {}
    cidr = spec.get("podCIDR") or next(iter(spec.get("podCIDRs") or ()), None)
    if not cidr:
        return None
    try:
        net = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return None
    return net if isinstance(net, ipaddress.IPv4Network) else None


def moved_subnet(current: ipaddress.IPv4Network | None, node: Obj | None) -> ipaddress.IPv4Network | None:
    """The subnet to set the host up on again, or None to keep what it has.

    Only a Node whose ``spec.podCIDR`` is another subnet than the one set up moves the host: that is
    a Node deleted and registered again, which the node IPAM gave a new subnet (the old one stays
    held while pods recorded with its addresses exist). A Node missing from the store (deleted, its
    kubelet not yet re-registered) or without a subnet (waiting for the IPAM) keeps the host as it
    is: the pods running there keep their network until there is somewhere to move to."""
    subnet = node_subnet(node) if node is not None else None
    if subnet is None or current is None or subnet == current:
        return None
    return subnet


def peer_of(node: Obj) -> Peer | None:
    """The node as a peer, or None while it lacks a subnet or its annotations."""
    meta = node.get("metadata") or {}
    ann = meta.get("annotations") or {}
    subnet = node_subnet(node)
    public_ip = ann.get(PUBLIC_IP)
    backend = ann.get(BACKEND_TYPE)
    if subnet is None or not public_ip or not backend:
        return None
    mac = None
    try:
        data = json.loads(ann.get(BACKEND_DATA) or "null")
        if isinstance(data, dict) and data.get("VtepMAC"):
            mac = str(data["VtepMAC"]).lower()
    except ValueError:
        pass
    return Peer(str(meta.get("name") or ""), subnet, str(public_ip), str(backend), mac)


def peers(nodes: Iterable[Obj], self_name: str) -> list[Peer]:
    out = [p for p in (peer_of(n) for n in nodes) if p is not None and p.name != self_name]
    return sorted(out, key=lambda p: p.name)


def desired(
    backend: Backend,
    others: Iterable[Peer],
    *,
    iface: str,
    device: str = VXLAN_DEVICE,
    own: ipaddress.IPv4Network | None = None,
) -> State:
    """The entries that send every other node's subnet to it. A vxlan peer without a VtepMAC yet is
    left out (it is still starting); a peer with the own subnet (a stale copy) too."""
    routes: set[Route] = set()
    neighs: set[Neigh] = set()
    fdbs: set[Fdb] = set()
    seen: set[str] = set()
    for p in others:
        dst = str(p.subnet)
        if dst in seen or (own is not None and p.subnet.overlaps(own)):
            continue
        if backend == "host-gw":
            routes.add(Route(dst, p.public_ip, iface))
        else:
            if not p.vtep_mac:
                continue
            vtep = str(p.subnet.network_address)
            routes.add(Route(dst, vtep, device, onlink=True))
            neighs.add(Neigh(vtep, p.vtep_mac, device))
            fdbs.add(Fdb(p.vtep_mac, p.public_ip, device))
        seen.add(dst)
    return State(frozenset(routes), frozenset(neighs), frozenset(fdbs))


def diff(want: State, have: State) -> Changes:
    """What to add (or replace) and remove so that ``have`` becomes ``want``."""
    ch = Changes()
    want_routes = {r.dst: r for r in want.routes}
    have_routes = {r.dst: r for r in have.routes}
    ch.add_routes = sorted(r for d, r in want_routes.items() if have_routes.get(d) != r)
    ch.del_routes = sorted(r for d, r in have_routes.items() if d not in want_routes)
    want_neighs = {n.ip: n for n in want.neighs}
    have_neighs = {n.ip: n for n in have.neighs}
    ch.add_neighs = sorted(n for ip, n in want_neighs.items() if have_neighs.get(ip) != n)
    ch.del_neighs = sorted(n for ip, n in have_neighs.items() if ip not in want_neighs)
    want_fdbs = {f.mac: f for f in want.fdbs}
    have_fdbs = {f.mac: f for f in have.fdbs}
    ch.add_fdbs = sorted(f for m, f in want_fdbs.items() if have_fdbs.get(m) != f)
    ch.del_fdbs = sorted(f for m, f in have_fdbs.items() if m not in want_fdbs or want_fdbs[m] != f)
    return ch


def managed_routes(
    routes: Iterable[Route], cluster: ipaddress.IPv4Network, own: ipaddress.IPv4Network | None
) -> State:
    """Of the host's routes, those this agent owns: into the cluster CIDR, not the own subnet."""
    out = set()
    for r in routes:
        try:
            net = ipaddress.ip_network(r.dst, strict=False)
        except ValueError:
            continue
        if not isinstance(net, ipaddress.IPv4Network) or not net.subnet_of(cluster) or net == cluster:
            continue
        if own is not None and net.overlaps(own):
            continue
        out.add(r)
    return State(routes=frozenset(out))


def annotations(backend: Backend, public_ip: str, vtep_mac: str | None) -> dict[str, str]:
    data = {"VtepMAC": vtep_mac} if backend == "vxlan" and vtep_mac else {}
    return {
        BACKEND_TYPE: backend,
        BACKEND_DATA: json.dumps(data, separators=(",", ":")),
        PUBLIC_IP: public_ip,
    }


def pod_mtu(backend: Backend, iface_mtu: int) -> int:
    """The pods' MTU: the interface's, less the VXLAN headers with that backend."""
    return iface_mtu - VXLAN_OVERHEAD if backend == "vxlan" else iface_mtu


def masquerade_rules(
    cluster: ipaddress.IPv4Network, own: ipaddress.IPv4Network, chain: str = NAT_CHAIN
) -> list[list[str]]:
    """flannel's nat rules: nothing within the cluster CIDR is NATed; pod traffic leaving it is."""
    c, s = str(cluster), str(own)
    return [
        ["-A", chain, "-s", c, "-d", c, "-j", "RETURN"],
        ["-A", chain, "-s", c, "!", "-d", "224.0.0.0/4", "-j", "MASQUERADE", "--random-fully"],
        ["-A", chain, "!", "-s", c, "-d", s, "-j", "RETURN"],
        ["-A", chain, "!", "-s", c, "-d", c, "-j", "MASQUERADE", "--random-fully"],
    ]


def forward_rules(cluster: ipaddress.IPv4Network, chain: str = FORWARD_CHAIN) -> list[list[str]]:
    """Accept forwarding of cluster traffic ahead of Docker's isolation and its DROP policy."""
    c = str(cluster)
    return [["-A", chain, "-s", c, "-j", "ACCEPT"], ["-A", chain, "-d", c, "-j", "ACCEPT"]]
