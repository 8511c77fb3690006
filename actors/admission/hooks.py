"""The admission chain as api-actor hooks: LimitRange, ResourceQuota, ClusterIP/NodePort allocation.

The api actor runs ``create_hooks``/``update_hooks`` (``async (resource, obj, old) -> obj``) before it
writes, and ``delete_hooks`` (``async (resource, removed) -> None``) after a removal. Wiring::

    admission = Admission(store, informers, service_cluster_ip_range=settings.service_cluster_ip_range)
    # it reads the process's informers of services, resourcequotas and limitranges; without
    # ``informers`` it makes its own, which admission.start(sup) runs
    api.create_hooks.append(admission.admit_create)
    api.update_hooks.append(admission.admit_update)
    api.delete_hooks.append(admission.after_delete)

Order, as Kubernetes' admission plugins run: LimitRanger (defaults, then limits) on pods, then the
ClusterIP/NodePort allocation on services, then ResourceQuota on everything in a namespace that has
quotas.

**Quota** is charged here, before the object is written: each affected quota is re-read from the
store and its new ``status.used`` written with compare-and-set, retried on Conflict. Two api
replicas therefore never both spend the last unit. A write that fails after the charge leaves the
quota over-counted until the quota controller recomputes it (as in Kubernetes).

**Addresses** are allocated from the services informer and then *claimed* with a KV create of
``ipallocations._.<ip>`` / ``portallocations._.<port>`` (value: the Service's namespace and name), so
two replicas can never hand out one IP: the loser's create fails and it picks again (or, for an IP
the user asked for, answers ``provided IP is already allocated``). A claim whose Service is gone or
holds another address, and that is older than ``claim_grace`` seconds (a crash between claim and
write), is taken over. Claims are deleted when their Service is deleted or gives the address up.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import structlog

from actors.admission.clusterip import (
    NodePortRange,
    ServiceIPRange,
    allocate_service,
    used_addresses,
)
from actors.admission.limitrange import apply_limit_ranges
from actors.admission.nodecidr import check_node_update
from actors.admission.quota import check_quota, compute_usage, resource_for_key
from actors.admission.storage import admit_claim, admit_volume, check_update
from actors.runtime.listwatch import StoreListWatcher
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor
from schemas.errors import AlreadyExists, Conflict, FieldError, Invalid, NotFound

log = structlog.get_logger(__name__)

IP_CLAIMS = "ipallocations"
PORT_CLAIMS = "portallocations"
CHARGE_RETRIES = 8


def _ns_of(obj: dict[str, Any]) -> str | None:
    return (obj.get("metadata") or {}).get("namespace")


def _in_ns(objects: dict[str, dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    return [o for o in objects.values() if _ns_of(o) == namespace]


def _service_ips(svc: dict[str, Any] | None) -> set[str]:
    spec = (svc or {}).get("spec") or {}
    return {ip for ip in [spec.get("clusterIP"), *(spec.get("clusterIPs") or [])] if ip and ip != "None"}


def _service_ports(svc: dict[str, Any] | None) -> set[int]:
    return {
        int(p["nodePort"]) for p in ((svc or {}).get("spec") or {}).get("ports") or [] if p.get("nodePort")
    }


class Admission:
    def __init__(
        self,
        store: Any,
        informers: SharedInformers | None = None,
        *,
        service_cluster_ip_range: str = "10.96.0.0/12",
        service_node_port_range: str = "30000-32767",
        claim_grace: float = 30.0,
    ) -> None:
        self.store = store
        self.ip_range = ServiceIPRange(service_cluster_ip_range)
        self.port_range = NodePortRange.parse(service_node_port_range)
        self.claim_grace = claim_grace
        self.own_informers = informers is None
        self.informers = informers or SharedInformers(StoreListWatcher(store))
        self.services = self.informers.informer("services")
        self.quotas = self.informers.informer("resourcequotas")
        self.limitranges = self.informers.informer("limitranges")
        self.storageclasses = self.informers.informer("storageclasses")

    def start(self, sup: Supervisor) -> None:
        """Run its own informers (the process's shared ones are started by their owner)."""
        if self.own_informers:
            self.informers.start(sup)

    async def ready(self, timeout: float = 30.0) -> None:
        for informer in (self.services, self.quotas, self.limitranges, self.storageclasses):
            await informer.wait_synced(timeout)

    # -- hooks ------------------------------------------------------------------------------------

    async def admit_create(
        self, resource: str, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> dict[str, Any]:
        namespace = _ns_of(obj)
        if resource == "pods" and namespace:
            obj = apply_limit_ranges(obj, _in_ns(self.limitranges.objects, namespace))
        if resource == "services":
            obj = await self._allocate(obj, None)
        if resource == "persistentvolumeclaims":
            obj = admit_claim(obj, list(self.storageclasses.objects.values()))
        if resource == "persistentvolumes":
            obj = admit_volume(obj)
        if namespace:
            await self._charge(resource, namespace, obj, None)
        return obj

    async def admit_update(
        self, resource: str, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> dict[str, Any]:
        if resource in ("persistentvolumeclaims", "persistentvolumes", "statefulsets"):
            check_update(resource, obj, old)
        if resource == "nodes":
            check_node_update(obj, old)
        if resource == "services":
            obj = await self._allocate(obj, old)
        namespace = _ns_of(obj)
        if namespace:
            await self._charge(resource, namespace, obj, old)
        return obj

    async def after_delete(self, resource: str, removed: dict[str, Any]) -> None:
        if resource != "services":
            return
        for ip in _service_ips(removed):
            await self._release(IP_CLAIMS, ip, removed)
        for port in _service_ports(removed):
            await self._release(PORT_CLAIMS, str(port), removed)

    # -- quota ------------------------------------------------------------------------------------

    async def _charge(
        self, resource: str, namespace: str, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        names = sorted((q["metadata"]["name"]) for q in _in_ns(self.quotas.objects, namespace))
        if not names:
            return
        for _attempt in range(CHARGE_RETRIES):
            quotas = []
            for name in names:
                try:
                    quotas.append(await self.store.get("resourcequotas", namespace, name))
                except NotFound:
                    continue
            usage = {q["metadata"]["name"]: await self._usage(q, namespace) for q in quotas}
            updates = check_quota(quotas, usage, obj, old, resource=resource)
            try:
                for quota in quotas:
                    used = updates.get(quota["metadata"]["name"])
                    if used is None:
                        continue
                    charged = copy.deepcopy(quota)
                    charged["status"] = {"hard": dict(quota["spec"].get("hard") or {}), "used": used}
                    await self.store.update("resourcequotas", charged, old=quota)
            except Conflict:
                continue
            return
        raise Conflict(f"resource quotas of namespace {namespace} kept changing; try again")

    async def _usage(self, quota: dict[str, Any], namespace: str) -> dict[str, Any]:
        """The quota's ``status.used``, computed from the store for resources it does not cover yet."""
        hard = (quota.get("spec") or {}).get("hard") or {}
        used = dict((quota.get("status") or {}).get("used") or {})
        missing = [k for k in hard if k not in used]
        if not missing:
            return used
        objects: dict[str, list[dict[str, Any]]] = {}
        for resource in {r for r in (resource_for_key(k) for k in missing) if r}:
            items, _ = await self.store.list(resource, namespace=namespace)
            objects[resource] = items
        partial = {**quota, "spec": {**(quota.get("spec") or {}), "hard": {k: hard[k] for k in missing}}}
        used.update(compute_usage(partial, objects))
        return used

    # -- addresses --------------------------------------------------------------------------------

    async def _allocate(self, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        skip_uid = ((old or {}).get("metadata") or {}).get("uid")
        taken_ips: set[str] = set()
        taken_ports: set[int] = set()
        for _attempt in range(CHARGE_RETRIES):
            ips, ports = used_addresses(list(self.services.objects.values()), skip_uid=skip_uid)
            out = allocate_service(
                obj,
                old,
                ips | taken_ips,
                ports | taken_ports,
                ip_range=self.ip_range,
                port_range=self.port_range,
            )
            new_ips = _service_ips(out) - _service_ips(old)
            new_ports = _service_ports(out) - _service_ports(old)
            lost = False
            for ip in new_ips:
                if not await self._claim(IP_CLAIMS, ip, out):
                    self._refuse_if_requested(obj, "spec.clusterIP", f'"{ip}"', ip, "IP")
                    taken_ips.add(ip)
                    lost = True
            for port in new_ports:
                if not await self._claim(PORT_CLAIMS, str(port), out):
                    self._refuse_if_requested(obj, "nodePort", str(port), port, "port")
                    taken_ports.add(port)
                    lost = True
            if lost:
                continue
            for ip in _service_ips(old) - _service_ips(out):
                await self._release(IP_CLAIMS, ip, out)
            for port in _service_ports(old) - _service_ports(out):
                await self._release(PORT_CLAIMS, str(port), out)
            return out
        raise Conflict("could not claim a free address for the Service; try again")

    @staticmethod
    def _refuse_if_requested(obj: dict[str, Any], field: str, shown: str, value: Any, what: str) -> None:
        spec = obj.get("spec") or {}
        name = (obj.get("metadata") or {}).get("name", "")
        if field == "spec.clusterIP":
            if spec.get("clusterIP") == value:
                raise Invalid(
                    "Service",
                    name,
                    [FieldError(field, f"Invalid value: {shown}: provided IP is already allocated")],
                )
            return
        for i, port in enumerate(spec.get("ports") or []):
            if port.get("nodePort") and int(port["nodePort"]) == value:
                raise Invalid(
                    "Service",
                    name,
                    [
                        FieldError(
                            f"spec.ports[{i}].nodePort",
                            f"Invalid value: {shown}: provided {what} is already allocated",
                        )
                    ],
                )

    async def _claim(self, kind: str, name: str, svc: dict[str, Any]) -> bool:
        """Create the claim key; on a clash take over a stale claim. False: really taken."""
        meta = svc.get("metadata") or {}
        body = {
            "metadata": {"name": name},
            "spec": {"namespace": meta.get("namespace"), "name": meta.get("name")},
        }
        for _attempt in range(3):
            try:
                await self.store.create(kind, body)
                return True
            except AlreadyExists:
                pass
            try:
                claim = await self.store.get(kind, None, name)
            except NotFound:
                continue
            owner = claim.get("spec") or {}
            if (owner.get("namespace"), owner.get("name")) == (meta.get("namespace"), meta.get("name")):
                return True  # ours already (a retried request)
            if not await self._stale(kind, name, claim):
                return False
            try:
                await self.store.delete(kind, None, name, old=claim)
            except (Conflict, NotFound):
                pass
            log.warning("admission.claim_taken_over", kind=kind, name=name, previous=owner)
        return False

    async def _stale(self, kind: str, name: str, claim: dict[str, Any]) -> bool:
        owner = claim.get("spec") or {}
        try:
            svc = await self.store.get("services", owner.get("namespace"), owner.get("name", ""))
        except NotFound:
            svc = None
        if svc is not None:
            held = _service_ips(svc) if kind == IP_CLAIMS else {str(p) for p in _service_ports(svc)}
            if name in held:
                return False
        created = (claim.get("metadata") or {}).get("creationTimestamp")
        if not created:
            return True
        age = (datetime.now(UTC) - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()
        return age > self.claim_grace

    async def _release(self, kind: str, name: str, svc: dict[str, Any]) -> None:
        meta = svc.get("metadata") or {}
        try:
            claim = await self.store.get(kind, None, name)
        except NotFound:
            return
        owner = claim.get("spec") or {}
        if (owner.get("namespace"), owner.get("name")) != (meta.get("namespace"), meta.get("name")):
            return
        try:
            await self.store.delete(kind, None, name, old=claim)
        except (Conflict, NotFound):
            pass
