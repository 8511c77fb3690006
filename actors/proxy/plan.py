"""Pure decisions of the service proxy: what to listen for, where to send it, which NAT rules.

- :func:`service_ports` turns a Service into one :class:`ServicePort` per ``spec.ports`` entry that
  the proxy serves: Services of type ClusterIP/NodePort/LoadBalancer with a ClusterIP. Headless
  Services (``clusterIP: None``) and ExternalName ones are not proxied (DNS answers for them);
- :func:`backends` reads the Service's Endpoints: the *ready* addresses (``subsets[].addresses``,
  never ``notReadyAddresses``) paired with the endpoint port of the same name and protocol. The
  endpoints controller already resolved named target ports to numbers, per pod;
- :func:`nat_rules` is the content of the proxy's own nat chain, written with ``iptables-restore
  --noflush`` (declaring the chain flushes it, so a write is atomic and a crashed proxy's leftovers
  vanish at the next start): one ``REDIRECT`` per ClusterIP:port to the local port its relay listens
  on. The chain is jumped to from PREROUTING (traffic from pods on the bridge: REDIRECT sends it to
  the bridge's own address) and from OUTPUT (the host's own traffic: sent to 127.0.0.1).

NodePorts need no rule: the relay listens on the node port itself on every address of the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
PROXIED_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")


@dataclass(frozen=True, order=True)
class ServicePortName:
    namespace: str
    name: str
    port: str  # the Service port's name, "" when unnamed

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}" if self.port else f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ServicePort:
    id: ServicePortName
    cluster_ip: str
    port: int
    protocol: str  # "TCP" | "UDP"
    node_port: int | None = None
    affinity_timeout: float | None = None  # seconds when sessionAffinity is ClientIP


Backend = tuple[str, int]  # (pod IP, port)


def service_ports(service: Obj) -> list[ServicePort]:
    meta = service.get("metadata") or {}
    spec = service.get("spec") or {}
    ip = str(spec.get("clusterIP") or "")
    if spec.get("type", "ClusterIP") not in PROXIED_TYPES or not ip or ip == "None":
        return []
    affinity: float | None = None
    if spec.get("sessionAffinity") == "ClientIP":
        cfg = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        affinity = float(cfg.get("timeoutSeconds") or 10800)
    out = []
    for p in spec.get("ports") or []:
        protocol = str(p.get("protocol") or "TCP")
        if protocol not in ("TCP", "UDP"):
            continue  # SCTP: not proxied
        out.append(
            ServicePort(
                id=ServicePortName(
                    str(meta.get("namespace") or "default"), str(meta["name"]), str(p.get("name") or "")
                ),
                cluster_ip=ip,
                port=int(p["port"]),
                protocol=protocol,
                node_port=int(p["nodePort"]) if p.get("nodePort") else None,
                affinity_timeout=affinity,
            )
        )
    return out


def backends(endpoints: Obj | None, port_name: str, protocol: str) -> list[Backend]:
    """The ready (ip, port) pairs of an Endpoints object for one Service port, sorted."""
    out: set[Backend] = set()
    for subset in (endpoints or {}).get("subsets") or []:
        ports = [
            p
            for p in subset.get("ports") or []
            if str(p.get("name") or "") == port_name and str(p.get("protocol") or "TCP") == protocol
        ]
        for p in ports:
            for addr in subset.get("addresses") or []:
                if addr.get("ip"):
                    out.add((str(addr["ip"]), int(p["port"])))
    return sorted(out)


def nat_rules(chain: str, listeners: dict[ServicePort, int]) -> str:
    """``iptables-restore --noflush`` input that makes ``chain`` hold exactly these redirects."""
    lines = ["*nat", f":{chain} - [0:0]"]
    for sp, local_port in sorted(listeners.items(), key=lambda kv: (str(kv[0].id), kv[0].protocol)):
        proto = sp.protocol.lower()
        lines.append(
            f"-A {chain} -d {sp.cluster_ip}/32 -p {proto} -m {proto} --dport {sp.port} "
            f'-m comment --comment "{sp.id} cluster IP" -j REDIRECT --to-ports {local_port}'
        )
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"
