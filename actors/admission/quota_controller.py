"""The resource quota controller: keeps each ResourceQuota's ``status.hard`` and ``status.used`` current.

Informers: resourcequotas and every namespaced resource a quota can count (:data:`COUNTED`), all
indexed by namespace. Keys are quota keys (``ns/name``). A quota is enqueued when it is added or its
``spec.hard`` changes (not on the api's charges to its status), and whenever an object of its
namespace is added, changed or deleted (deletions are what admission does
not account for: the api only charges on create and update). ``reconcile`` recomputes the usage
from the caches with :func:`actors.admission.quota.quota_status` and writes the status with
compare-and-set when it differs; a Conflict (the api charged the quota meanwhile) requeues it.
A full resync every :data:`RESYNC_SECONDS` catches anything missed, as Kubernetes' 5-minute one.
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from actors.admission.quota import quota_status, resource_for_key
from actors.runtime.cache import by_namespace, key_of
from actors.runtime.controller import Controller
from actors.runtime.informer import Informer
from actors.runtime.shared import SharedInformers
from schemas.errors import NotFound

log = structlog.get_logger(__name__)

NS_INDEX = "namespace"
RESYNC_SECONDS = 300.0
COUNTED = (
    "pods",
    "services",
    "configmaps",
    "secrets",
    "replicationcontrollers",
    "resourcequotas",
    "deployments",
    "replicasets",
    "daemonsets",
    "jobs",
    "cronjobs",
    "endpoints",
    "limitranges",
    "persistentvolumeclaims",
    "statefulsets",
)


class ResourceQuotaController(Controller):
    name = "resourcequota-controller"
    workers = 2

    def __init__(
        self,
        api: Any,
        informers: SharedInformers,
        *,
        resync_seconds: float = RESYNC_SECONDS,
        workers: int | None = None,
    ) -> None:
        super().__init__(workers=workers)
        self.api = api
        self.resync_seconds = resync_seconds
        self.by_resource: dict[str, Informer] = {}
        for resource in COUNTED:
            informer = informers.informer(resource)
            informer.add_index(NS_INDEX, by_namespace)
            self.by_resource[resource] = informer
        self.quotas = self.by_resource["resourcequotas"]
        self.quotas.add_handler(on_add=self._quota_added, on_update=self._quota_updated)
        self.informers.append(self.quotas)
        for resource, informer in self.by_resource.items():
            if resource != "resourcequotas":
                self.watch(informer, self._quotas_of)

    def _quota_added(self, quota: dict[str, Any]) -> None:
        self.queue.add(key_of(quota))

    def _quota_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Only a change of ``spec.hard`` (or a status that lost it) needs a recount, as in Kubernetes:
        reacting to the api's own charges would race them with a recount from lagging caches."""
        hard = (new.get("spec") or {}).get("hard")
        if hard != (old.get("spec") or {}).get("hard") or hard != (new.get("status") or {}).get("hard"):
            self.queue.add(key_of(new))

    def _quotas_of(self, obj: dict[str, Any]) -> list[str]:
        namespace = (obj.get("metadata") or {}).get("namespace")
        if not namespace:
            return []
        return [key_of(q) for q in self.quotas.by_index(NS_INDEX, namespace)]

    async def reconcile(self, key: str) -> None:
        quota = self.quotas.get(key)
        if quota is None:
            return
        namespace = (quota.get("metadata") or {}).get("namespace") or "default"
        hard = (quota.get("spec") or {}).get("hard") or {}
        objects: dict[str, list[dict[str, Any]]] = {}
        for k in hard:
            resource = resource_for_key(k)
            if resource is None or resource in objects:
                continue
            informer = self.by_resource.get(resource)
            if informer is not None:
                objects[resource] = informer.by_index(NS_INDEX, namespace)
            else:  # a count/<resource> we do not keep a cache of: ask the api
                try:
                    objects[resource] = (await self.api.list(resource, namespace=namespace)).get(
                        "items"
                    ) or []
                except NotFound:
                    objects[resource] = []
        status = quota_status(quota, objects)
        current = quota.get("status") or {}
        if current.get("hard") != status["hard"] or current.get("used") != status["used"]:
            updated = copy.deepcopy(quota)
            updated["status"] = {**current, **status}
            await self.api.update_status("resourcequotas", updated, namespace=namespace)
            log.info("quota.status", quota=key, used=status["used"])
        self.queue.add_after(key, self.resync_seconds)
