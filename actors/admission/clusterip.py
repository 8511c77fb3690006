"""ClusterIP and NodePort allocation for Services: pure code the api actor calls on create/update.

The allocator keeps no state of its own: the api actor passes the set of IPs (and node ports) the
Services in the store already hold, taken from its informer of services, so allocation is a function
of the store and a deleted Service's IP is free again as soon as the Service is gone.

Two api replicas could still pick the same free IP at the same moment from their caches. The api
actor closes that race with a claim key per address, written with a KV *create* (which fails if the
key exists) before the Service is written: ``ipallocations._.<ip>`` and ``portallocations._.<port>``
(:func:`ip_claim_key`, :func:`port_claim_key`), whose value names the Service (namespace, name, uid).
A lost create means another replica took it: pick again with that address added to ``used``. The
claim is deleted when the Service is deleted (or when the write of the Service fails), and a claim
whose Service no longer exists (a crash in between) is swept by the api actor.

As Kubernetes:

- the range is ``--service-cluster-ip-range`` (default ``10.96.0.0/12``); the network and broadcast
  addresses are never handed out; the first host (``10.96.0.1``) is reserved for ``default/kubernetes``;
- dynamic allocation picks at random in the upper band of the range, leaving the lower band
  (``min(max(16, size/16), 256)`` addresses) to users who ask for a fixed IP, and falls back to the
  lower band when the upper one is full (``ServiceIPStaticSubrange``);
- ``clusterIP: None`` (headless) gets no IP; ``ExternalName`` services get none either;
- ``clusterIP`` is immutable on update;
- ``NodePort`` and ``LoadBalancer`` services get a node port in ``30000-32767`` for each port that
  has none; a requested one must be in range and free. One Service may reuse a node port for the same
  port number with another protocol (TCP and UDP DNS), as Kubernetes allows.
"""

from __future__ import annotations

import copy
import ipaddress
import random
from dataclasses import dataclass
from typing import Any

from schemas.errors import FieldError, InternalError, Invalid

DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_NODE_PORT_RANGE = "30000-32767"


def ip_claim_key(ip: str) -> str:
    """KV key the api actor creates to claim ``ip`` (cluster-scoped, ``_`` as namespace)."""
    return f"ipallocations._.{ip}"


def port_claim_key(port: int) -> str:
    return f"portallocations._.{port}"


@dataclass(frozen=True)
class ServiceIPRange:
    cidr: str = DEFAULT_SERVICE_CIDR

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=False)

    @property
    def first(self) -> int:
        net = self.network
        return int(net.network_address) + 1 if net.num_addresses > 2 else int(net.network_address)

    @property
    def last(self) -> int:
        net = self.network
        return int(net.broadcast_address) - 1 if net.num_addresses > 2 else int(net.broadcast_address)

    @property
    def kubernetes_ip(self) -> str:
        """The first host address, the ``kubernetes`` Service's (``10.96.0.1`` by default)."""
        return str(ipaddress.ip_address(self.first))

    def contains(self, ip: str) -> bool:
        try:
            value = int(ipaddress.ip_address(ip))
        except ValueError:
            return False
        return self.first <= value <= self.last

    def static_band_end(self) -> int:
        """Last address of the lower band kept for user-chosen IPs."""
        size = self.last - self.first + 1
        if size < 16:
            return self.first - 1  # no static band in a tiny range (Kubernetes' calculateRangeOffset)
        return self.first + min(max(16, size // 16), 256) - 1

    def allocate(self, used: set[str], rng: random.Random | None = None) -> str:
        """A free address: random in the upper band, then the lower band. ``InternalError`` if full."""
        rng = rng or random.Random()
        reserved = {self.kubernetes_ip}
        taken = {int(ipaddress.ip_address(ip)) for ip in (used | reserved) if self.contains(ip)}
        band = self.static_band_end()
        for lo, hi in ((band + 1, self.last), (self.first, band)):
            if hi < lo:
                continue
            size = hi - lo + 1
            # A few random probes, then a scan from a random start (next-fit) when the band is crowded.
            for _ in range(min(32, size)):
                candidate = rng.randint(lo, hi)
                if candidate not in taken:
                    return str(ipaddress.ip_address(candidate))
            start = rng.randint(lo, hi)
            for offset in range(size):
                candidate = lo + (start - lo + offset) % size
                if candidate not in taken:
                    return str(ipaddress.ip_address(candidate))
        raise InternalError("failed to allocate a serviceIP: range is full")


@dataclass(frozen=True)
class NodePortRange:
    low: int = 30000
    high: int = 32767

    @classmethod
    def parse(cls, text: str) -> NodePortRange:
        lo, _, hi = text.partition("-")
        return cls(int(lo), int(hi or lo))

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"

    def contains(self, port: int) -> bool:
        return self.low <= port <= self.high

    def allocate(self, used: set[int], rng: random.Random | None = None) -> int:
        rng = rng or random.Random()
        size = self.high - self.low + 1
        start = rng.randint(self.low, self.high)
        for offset in range(size):
            candidate = self.low + (start - self.low + offset) % size
            if candidate not in used:
                return candidate
        raise InternalError("failed to allocate a nodePort: range is full")


def _svc_type(service: dict[str, Any]) -> str:
    return (service.get("spec") or {}).get("type") or "ClusterIP"


def _needs_node_ports(service: dict[str, Any]) -> bool:
    spec = service.get("spec") or {}
    if _svc_type(service) == "NodePort":
        return True
    return _svc_type(service) == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True)


def used_addresses(services: list[dict[str, Any]], skip_uid: str | None = None) -> tuple[set[str], set[int]]:
    """The ClusterIPs and node ports held by ``services`` (the api actor's informer cache).

    ``skip_uid`` leaves out the Service being updated so that it may keep its own addresses.
    """
    ips: set[str] = set()
    ports: set[int] = set()
    for svc in services:
        if skip_uid and (svc.get("metadata") or {}).get("uid") == skip_uid:
            continue
        spec = svc.get("spec") or {}
        for ip in [spec.get("clusterIP"), *(spec.get("clusterIPs") or [])]:
            if ip and ip != "None":
                ips.add(ip)
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                ports.add(int(port["nodePort"]))
    return ips, ports


def allocate_service(
    service: dict[str, Any],
    old: dict[str, Any] | None,
    used_ips: set[str],
    used_node_ports: set[int],
    *,
    ip_range: ServiceIPRange | None = None,
    port_range: NodePortRange | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """The Service with ``spec.clusterIP``/``clusterIPs`` and node ports filled in (a new dict).

    ``used_ips``/``used_node_ports`` are what *other* Services hold (see :func:`used_addresses` with
    ``skip_uid``). ``old`` is the stored Service on update, None on create. Raises ``Invalid`` with
    Kubernetes' field errors, or ``InternalError`` when a range is full.
    """
    ip_range = ip_range or ServiceIPRange()
    port_range = port_range or NodePortRange()
    out = copy.deepcopy(service)
    meta = out.get("metadata") or {}
    spec = out.setdefault("spec", {})
    kind, name = "Service", meta.get("name", "")
    causes: list[FieldError] = []
    svc_type = _svc_type(out)

    # --- cluster IP ---
    old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
    requested = spec.get("clusterIP") or ((spec.get("clusterIPs") or [None])[0])
    if svc_type == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    elif old is not None and old_ip and _svc_type(old) != "ExternalName":
        if requested and requested != old_ip:
            causes.append(FieldError("spec.clusterIP", f'Invalid value: "{requested}": field is immutable'))
        spec["clusterIP"] = old_ip
        spec["clusterIPs"] = [old_ip]
    elif requested == "None":
        if svc_type in ("NodePort", "LoadBalancer"):
            causes.append(
                FieldError(
                    "spec.clusterIP",
                    f"Invalid value: \"None\": may not be set to 'None' for {svc_type} services",
                )
            )
        spec["clusterIP"] = "None"
        spec["clusterIPs"] = ["None"]
    elif requested:
        kubernetes_svc = meta.get("namespace", "default") == "default" and name == "kubernetes"
        try:
            ipaddress.ip_address(requested)
            valid = True
        except ValueError:
            valid = False
        if not valid:
            causes.append(
                FieldError("spec.clusterIP", f'Invalid value: "{requested}": must be a valid IP address')
            )
        elif not ip_range.contains(requested):
            causes.append(
                FieldError(
                    "spec.clusterIP",
                    f'Invalid value: "{requested}": provided IP is not in the valid range. '
                    f"The range of valid IPs is {ip_range.cidr}",
                )
            )
        elif requested in used_ips or (requested == ip_range.kubernetes_ip and not kubernetes_svc):
            causes.append(
                FieldError(
                    "spec.clusterIP", f'Invalid value: "{requested}": provided IP is already allocated'
                )
            )
        spec["clusterIP"] = requested
        spec["clusterIPs"] = [requested]
    else:
        if meta.get("namespace", "default") == "default" and name == "kubernetes":
            ip = ip_range.kubernetes_ip
            if ip in used_ips:
                ip = ip_range.allocate(used_ips, rng)
        else:
            ip = ip_range.allocate(used_ips, rng)
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    # --- node ports ---
    ports = spec.get("ports") or []
    if _needs_node_ports(out):
        old_ports = ((old or {}).get("spec") or {}).get("ports") or []
        taken = set(used_node_ports)
        mine: dict[int, set[str]] = {}  # node port -> protocols this Service already uses it for
        for i, port in enumerate(ports):
            protocol = port.get("protocol") or "TCP"
            node_port = port.get("nodePort")
            if not node_port:
                for op in old_ports:  # keep the node port an update did not mention
                    if op.get("nodePort") and (op.get("name") or "") == (port.get("name") or ""):
                        if (op.get("protocol") or "TCP") == protocol:
                            node_port = op["nodePort"]
                            break
            if node_port:
                node_port = int(node_port)
                field = f"spec.ports[{i}].nodePort"
                if not port_range.contains(node_port):
                    causes.append(
                        FieldError(
                            field,
                            f"Invalid value: {node_port}: provided port is not in the valid range. "
                            f"The range of valid ports is {port_range}",
                        )
                    )
                elif node_port in taken or protocol in mine.get(node_port, set()):
                    causes.append(
                        FieldError(field, f"Invalid value: {node_port}: provided port is already allocated")
                    )
            else:
                node_port = port_range.allocate(taken | set(mine), rng)
            port["nodePort"] = node_port
            mine.setdefault(node_port, set()).add(protocol)
    else:
        for port in ports:
            port.pop("nodePort", None)

    if causes:
        raise Invalid(kind, name, causes)
    return out
