"""The cluster CIDR cut into node subnets, and which subnet a Node gets. No I/O.

:func:`parse_pool` checks ``--cluster-cidr`` / ``--node-cidr-mask-size`` (the errors name the flag).
:func:`occupied` is what the store says is taken: every Node's ``spec.podCIDRs`` inside the pool,
plus the subnet of every pod IP still recorded in the store. The latter keeps a deleted Node's subnet
out of circulation while pods that lived on it may still run (the garbage collector deletes those
orphans; once their objects are gone, so is the hold). Since both come from the store, a new leader
recovers the whole state from its informers: no allocation table of its own.
:func:`first_free` hands out the lowest free subnet (Kubernetes' cidrset starts after the last one it
gave; lowest-first is simpler to read in ``get nodes`` and just as correct).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.errors import BadRequest

Obj = Mapping[str, Any]

DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
DEFAULT_NODE_MASK = 24
MAX_NODE_MASK = 30  # a /31 or /32 leaves no address for a pod beside the gateway


@dataclass(frozen=True)
class Pool:
    network: ipaddress.IPv4Network
    mask: int

    @property
    def size(self) -> int:
        return 1 << (self.mask - self.network.prefixlen)

    def subnet(self, index: int) -> ipaddress.IPv4Network:
        step = 1 << (32 - self.mask)
        base = int(self.network.network_address) + index * step
        return ipaddress.IPv4Network((base, self.mask))

    def index_of(self, address: ipaddress.IPv4Address) -> int | None:
        if address not in self.network:
            return None
        return (int(address) - int(self.network.network_address)) >> (32 - self.mask)


def parse_pool(cluster_cidr: str, mask: int) -> Pool:
    """The pool of ``--cluster-cidr`` cut at ``--node-cidr-mask-size``; BadRequest naming the flag."""
    try:
        network = ipaddress.ip_network(cluster_cidr.strip(), strict=True)
    except ValueError as exc:
        raise BadRequest(
            f'--cluster-cidr: Invalid value: "{cluster_cidr}": must be a valid CIDR ({exc})'
        ) from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise BadRequest(f'--cluster-cidr: Invalid value: "{cluster_cidr}": must be an IPv4 CIDR')
    if not network.prefixlen < mask <= MAX_NODE_MASK:
        raise BadRequest(
            f"--node-cidr-mask-size: Invalid value: {mask}: must be longer than --cluster-cidr's "
            f"prefix (/{network.prefixlen}) and at most {MAX_NODE_MASK}"
        )
    if mask - network.prefixlen > 16:
        raise BadRequest(
            f"--node-cidr-mask-size: Invalid value: {mask}: at most 16 bits more than --cluster-cidr's "
            f"prefix (/{network.prefixlen}), as kube-controller-manager allows"
        )
    return Pool(network, mask)


def node_cidrs(node: Obj) -> list[str]:
    spec = node.get("spec") or {}
    cidrs = list(spec.get("podCIDRs") or ())
    if not cidrs and spec.get("podCIDR"):
        cidrs = [spec["podCIDR"]]
    return [str(c) for c in cidrs]


def _index_of_cidr(pool: Pool, cidr: str) -> int | None:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    if not isinstance(net, ipaddress.IPv4Network) or not net.subnet_of(pool.network):
        return None
    return pool.index_of(net.network_address)


def occupied(pool: Pool, nodes: Iterable[Obj], pods: Iterable[Obj]) -> set[int]:
    """Indexes of the pool's subnets the store holds: the Nodes' and those of recorded pod IPs."""
    used: set[int] = set()
    for node in nodes:
        for cidr in node_cidrs(node):
            i = _index_of_cidr(pool, cidr)
            if i is not None:
                used.add(i)
    for pod in pods:
        status = pod.get("status") or {}
        if (pod.get("spec") or {}).get("hostNetwork"):
            continue
        ips = [p.get("ip") for p in status.get("podIPs") or ()] or [status.get("podIP")]
        for ip in ips:
            if not ip:
                continue
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                continue
            if isinstance(addr, ipaddress.IPv4Address):
                i = pool.index_of(addr)
                if i is not None:
                    used.add(i)
    return used


def first_free(pool: Pool, used: set[int]) -> ipaddress.IPv4Network | None:
    """The lowest subnet not in ``used``; None when the pool is exhausted."""
    for i in range(pool.size):
        if i not in used:
            return pool.subnet(i)
    return None


def with_cidr(node: Obj, cidr: str) -> dict[str, Any]:
    """A copy of ``node`` with ``spec.podCIDR`` and ``spec.podCIDRs`` set (resourceVersion kept: CAS)."""
    out = dict(node)
    spec = dict(out.get("spec") or {})
    spec["podCIDR"] = cidr
    spec["podCIDRs"] = [cidr]
    out["spec"] = spec
    return out
