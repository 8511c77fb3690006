"""Answers for the cluster zone from Services and Endpoints. No I/O: tested as tables.

The names, as Kubernetes' DNS specification has them (``<zone>`` is ``cluster.local``):

- ``<svc>.<ns>.svc.<zone>``: A, the ClusterIP; for a headless Service (``clusterIP: None``) one A
  per *ready* endpoint address; for an ExternalName Service a CNAME to ``spec.externalName``;
- ``<hostname>.<svc>.<ns>.svc.<zone>``: A of the headless Service's endpoint with that hostname
  (``spec.hostname`` + ``spec.subdomain`` of the pod), or whose IP dashed (``10-1-2-3``) is it;
- ``_<port>._<proto>.<svc>.<ns>.svc.<zone>``: SRV for each *named* port: ``0 100 <port>
  <svc>.<ns>.svc.<zone>`` for a ClusterIP Service, one record per ready endpoint (its target port,
  target ``<hostname or dashed ip>.<svc>...``, an additional A record each) for a headless one;
  SRV asked on the bare Service name lists every named port;
- ``<a-b-c-d>.<ns>.pod.<zone>``: A ``a.b.c.d`` (kube-dns' "pods insecure" mode).

A name in the zone that names nothing is NXDOMAIN; an existing name asked for another type gets an
empty NOERROR answer. Names outside the zone return None (the server forwards them).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, SRV, A

Obj = dict[str, Any]
Lookup = Callable[[str, str], Obj | None]  # (namespace, name) -> object or None
DEFAULT_DOMAIN = "cluster.local"
TTL = 5


@dataclass
class Answer:
    rcode: int = RCODE.NOERROR
    answers: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)


def _ready(endpoints: Obj | None) -> list[tuple[Obj, list[Obj]]]:
    """(address, ports of its subset) for every ready address."""
    out = []
    for subset in (endpoints or {}).get("subsets") or []:
        for addr in subset.get("addresses") or []:
            if addr.get("ip"):
                out.append((addr, subset.get("ports") or []))
    return out


def _host_label(addr: Obj) -> str:
    return str(addr.get("hostname") or str(addr["ip"]).replace(".", "-").replace(":", "-"))


def _a(name: str, ip: str, ttl: int) -> RR:
    if ipaddress.ip_address(ip).version == 6:
        return RR(name, QTYPE.AAAA, rdata=AAAA(ip), ttl=ttl)
    return RR(name, QTYPE.A, rdata=A(ip), ttl=ttl)


def _addresses(qname: str, qtype: int, ips: list[str], ttl: int) -> Answer:
    want = 6 if qtype == QTYPE.AAAA else 4
    rrs = [
        _a(qname, ip, ttl)
        for ip in ips
        if qtype == QTYPE.ANY or ipaddress.ip_address(ip).version == want
        if qtype in (QTYPE.A, QTYPE.AAAA, QTYPE.ANY)
    ]
    return Answer(answers=rrs)


def resolve(
    qname: str,
    qtype: int,
    service: Lookup,
    endpoints: Lookup,
    domain: str = DEFAULT_DOMAIN,
    ttl: int = TTL,
) -> Answer | None:
    name = qname.lower().rstrip(".")
    zone = domain.lower().strip(".")
    if name != zone and not name.endswith("." + zone):
        return None
    labels = name[: -len(zone)].rstrip(".").split(".") if name != zone else []
    labels = [x for x in labels if x]
    fq = name + "."
    if len(labels) == 3 and labels[2] == "pod":
        try:
            ip = str(ipaddress.ip_address(labels[0].replace("-", ".")))
        except ValueError:
            return Answer(rcode=RCODE.NXDOMAIN)
        return _addresses(fq, qtype, [ip], ttl)
    if len(labels) < 3 or labels[-1] != "svc":
        return Answer(rcode=RCODE.NXDOMAIN) if labels else Answer()
    ns, svc_name = labels[-2], labels[-3]
    svc = service(ns, svc_name)
    if svc is None:
        return Answer(rcode=RCODE.NXDOMAIN)
    spec = svc.get("spec") or {}
    svc_fq = f"{svc_name}.{ns}.svc.{zone}."
    headless = spec.get("clusterIP") == "None"
    ready = _ready(endpoints(ns, svc_name)) if headless else []
    rest = labels[:-3]

    if not rest:  # the Service's own name
        if spec.get("type") == "ExternalName":
            target = str(spec.get("externalName") or "").rstrip(".") + "."
            return Answer(answers=[RR(fq, QTYPE.CNAME, rdata=CNAME(target), ttl=ttl)])
        if qtype == QTYPE.SRV:
            return _srv(fq, svc, svc_fq, ready, headless, None, ttl)
        ips = sorted({str(a["ip"]) for a, _ in ready}) if headless else [str(spec.get("clusterIP") or "")]
        return _addresses(fq, qtype, [ip for ip in ips if ip and ip != "None"], ttl)
    if len(rest) == 2 and rest[0].startswith("_") and rest[1].startswith("_"):
        port_name, proto = rest[0][1:], rest[1][1:].upper()
        ports = [
            p
            for p in spec.get("ports") or []
            if p.get("name") == port_name and str(p.get("protocol") or "TCP") == proto
        ]
        if not ports:
            return Answer(rcode=RCODE.NXDOMAIN)
        if qtype not in (QTYPE.SRV, QTYPE.ANY):
            return Answer()
        return _srv(fq, svc, svc_fq, ready, headless, (port_name, proto), ttl)
    if len(rest) == 1 and headless:
        ips = sorted({str(a["ip"]) for a, _ in ready if _host_label(a) == rest[0]})
        if not ips:
            return Answer(rcode=RCODE.NXDOMAIN)
        return _addresses(fq, qtype, ips, ttl)
    return Answer(rcode=RCODE.NXDOMAIN)


def _srv(
    fq: str,
    svc: Obj,
    svc_fq: str,
    ready: list[tuple[Obj, list[Obj]]],
    headless: bool,
    only: tuple[str, str] | None,
    ttl: int,
) -> Answer:
    out = Answer()
    named = [
        p
        for p in (svc.get("spec") or {}).get("ports") or []
        if p.get("name") and (only is None or (p["name"], str(p.get("protocol") or "TCP")) == only)
    ]
    for p in named:
        proto = str(p.get("protocol") or "TCP")
        if not headless:
            out.answers.append(RR(fq, QTYPE.SRV, rdata=SRV(0, 100, int(p["port"]), svc_fq), ttl=ttl))
            continue
        weight = max(1, 100 // max(1, len(ready)))
        for addr, ports in ready:
            for ep in ports:
                if ep.get("name") == p["name"] and str(ep.get("protocol") or "TCP") == proto:
                    target = f"{_host_label(addr)}.{svc_fq}"
                    out.answers.append(
                        RR(fq, QTYPE.SRV, rdata=SRV(0, weight, int(ep["port"]), target), ttl=ttl)
                    )
                    out.additional.append(_a(target, str(addr["ip"]), ttl))
    cluster_ip = str((svc.get("spec") or {}).get("clusterIP") or "")
    if not headless and out.answers and cluster_ip:
        out.additional.append(_a(svc_fq, cluster_ip, ttl))
    return out
