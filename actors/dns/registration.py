"""Publish the DNS server as the ``kube-dns`` Service, so pods reach it through the service proxy.

:func:`register` makes sure that ``kube-system/kube-dns`` exists with the fixed ClusterIP
(``10.96.0.10``, in the lower band of the default range that the allocator keeps for fixed IPs),
ports ``dns`` 53/UDP and ``dns-tcp`` 53/TCP, no selector, and that its Endpoints name the address and
port the DNS server listens on. The same is done for ``default/kube-dns`` (a dynamically allocated
ClusterIP): the seed's dns-proxy pod forwards to ``kube-dns.default``, the name of the DNS Service in
the Kubernetes of its time.

Every write is compare-and-set: an existing object is re-read and updated at its revision only when
it differs (AlreadyExists or Conflict: read again and retry). One DNS server per cluster: its
Endpoints name only the last server that registered.
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from schemas.errors import AlreadyExists, Conflict, NotFound

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
DNS_SERVICE = "kube-dns"
DEFAULT_DNS_IP = "10.96.0.10"


def dns_service(namespace: str, cluster_ip: str | None, target_port: int) -> Obj:
    spec: Obj = {
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": target_port},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": target_port},
        ]
    }
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": DNS_SERVICE, "namespace": namespace, "labels": {"k8s-app": "kube-dns"}},
        "spec": spec,
    }


def dns_endpoints(namespace: str, ip: str, port: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": DNS_SERVICE, "namespace": namespace, "labels": {"k8s-app": "kube-dns"}},
        "subsets": [
            {
                "addresses": [{"ip": ip}],
                "ports": [
                    {"name": "dns", "port": port, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": port, "protocol": "TCP"},
                ],
            }
        ],
    }


async def _ensure(api: Any, resource: str, want: Obj, fields: tuple[str, ...]) -> None:
    meta = want["metadata"]
    for _ in range(5):
        try:
            cur = await api.get(resource, meta["name"], meta["namespace"])
        except NotFound:
            try:
                await api.create(resource, want)
                return
            except AlreadyExists:
                continue
        if all(_same(cur.get(f), want.get(f)) for f in fields):
            return
        body = copy.deepcopy(cur)
        for f in fields:
            if f == "spec":
                body["spec"] = {**(cur.get("spec") or {}), "ports": want["spec"]["ports"]}
            else:
                body[f] = want[f]
        try:
            await api.update(resource, body)
            return
        except Conflict:
            continue
    raise Conflict(f"{resource} {meta['namespace']}/{meta['name']}: kept conflicting")


def _same(cur: Any, want: Any) -> bool:
    if isinstance(want, dict) and isinstance(cur, dict):
        return all(_same(cur.get(k), v) for k, v in want.items())
    if isinstance(want, list) and isinstance(cur, list):
        return len(want) == len(cur) and all(_same(c, w) for c, w in zip(cur, want, strict=True))
    return bool(cur == want)


async def register(api: Any, ip: str, port: int, cluster_ip: str = DEFAULT_DNS_IP) -> None:
    for ns, fixed in (("kube-system", cluster_ip), ("default", None)):
        await _ensure(api, "services", dns_service(ns, fixed, port), ("spec",))
        await _ensure(api, "endpoints", dns_endpoints(ns, ip, port), ("subsets",))
    log.info("dns.registered", address=f"{ip}:{port}", cluster_ip=cluster_ip)
