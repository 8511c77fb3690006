"""What pods need to find and trust the API: published by the gateway when it starts.

* the ``default/kubernetes`` Service (ClusterIP: the first address of the service range, port 443
  ``https``, no selector) and its Endpoints, the gateway's address and port as pods reach it, so
  that ``KUBERNETES_SERVICE_HOST``/``PORT`` (the kubelet's service variables) lead to the gateway
  through the service proxy, as kube-apiserver's own endpoint reconciler does;
* the ConfigMap ``kube-system/kube-root-ca.crt`` with the cluster CA (``ca.crt``), which the
  serviceaccount controller copies into every namespace for the pods' token volumes.

Each write is create-or-update with compare-and-set, retried by :func:`publish_forever` with backoff
until the api answers (the gateway may start before the api serves). Several gateways (one per
control-plane replica) each add their own address to the Endpoints.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import structlog

from schemas.errors import AlreadyExists, Conflict, JetkubeError, NotFound

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
SERVICE_PORT = 443
ROOT_CA = "kube-root-ca.crt"


def kubernetes_service(target_port: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "ports": [{"name": "https", "port": SERVICE_PORT, "protocol": "TCP", "targetPort": target_port}],
            "sessionAffinity": "None",
        },
    }


def endpoints_with(current: Obj | None, address: str, port: int) -> Obj:
    """The ``default/kubernetes`` Endpoints with this gateway's address added (pure)."""
    out = (
        copy.deepcopy(current)
        if current
        else {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default"},
        }
    )
    subsets = out.get("subsets") or []
    ports = [{"name": "https", "port": port, "protocol": "TCP"}]
    same = [s for s in subsets if (s.get("ports") or []) == ports]
    others = [s for s in subsets if (s.get("ports") or []) != ports]
    addresses = [a for s in same for a in s.get("addresses") or []]
    if not any(a.get("ip") == address for a in addresses):
        addresses.append({"ip": address})
    out["subsets"] = [
        *others,
        {"addresses": sorted(addresses, key=lambda a: str(a.get("ip"))), "ports": ports},
    ]
    return out


async def _upsert(
    api: Any, resource: str, namespace: str, name: str, want: Obj, fields: tuple[str, ...]
) -> None:
    try:
        current = await api.get(resource, name, namespace)
    except NotFound:
        try:
            await api.create(resource, want)
            return
        except AlreadyExists:
            current = await api.get(resource, name, namespace)
    if all(current.get(f) == want.get(f) for f in fields):
        return
    await api.update(resource, {**current, **{f: want[f] for f in fields}})


async def publish(api: Any, *, ca_pem: str, address: str, port: int) -> str:
    """One pass: the Service, the Endpoints (with ``address:port``) and the root CA ConfigMap; the
    Service's ClusterIP."""
    try:
        svc = await api.get("services", "kubernetes", "default")
    except NotFound:
        try:
            svc = await api.create("services", kubernetes_service(port))
        except AlreadyExists:
            svc = await api.get("services", "kubernetes", "default")
    try:
        current: Obj | None = await api.get("endpoints", "kubernetes", "default")
    except NotFound:
        current = None
    want = endpoints_with(current, address, port)
    if current is None:
        await api.create("endpoints", want)
    elif want.get("subsets") != current.get("subsets"):
        await api.update("endpoints", want)
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": ROOT_CA, "namespace": "kube-system"},
        "data": {"ca.crt": ca_pem},
    }
    await _upsert(api, "configmaps", "kube-system", ROOT_CA, cm, ("data",))
    return str((svc.get("spec") or {}).get("clusterIP") or "")


async def publish_forever(api: Any, *, ca_pem: str, address: str, port: int) -> str:
    """:func:`publish` until it succeeds once (backoff 0.2 s .. 5 s); the Service's ClusterIP."""
    delay = 0.2
    while True:
        try:
            cluster_ip = await publish(api, ca_pem=ca_pem, address=address, port=port)
            log.info("gateway.in_cluster_published", address=address, port=port, cluster_ip=cluster_ip)
            return cluster_ip
        except (Conflict, AlreadyExists):
            delay = 0.2
        except (JetkubeError, TimeoutError) as err:
            log.info("gateway.in_cluster_retry", error=str(getattr(err, "message", err)), delay=delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
