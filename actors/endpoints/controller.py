"""The endpoints controller: keeps each selector Service's Endpoints equal to its pods.

Informers: services, pods (indexed by namespace), endpoints. Keys are Service keys (``ns/name``):

- a Service change enqueues the Service;
- a pod change enqueues every Service of the pod's namespace whose selector matches the pod's labels,
  before or after the change (the informer hands both objects to the handler), so a readiness flip
  reaches the Endpoints in one reconcile, within milliseconds;
- an Endpoints change or deletion enqueues the Service of the same name when that Service exists
  (repairs a hand edit of a managed Endpoints).

``reconcile`` re-reads the three caches, asks :func:`actors.endpoints.plan.plan` what to do, and
writes through the api: create, compare-and-set update (a Conflict requeues), or delete when the
Service is gone. Nothing is written when the Endpoints are already right.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.endpoints.plan import CreateEndpoints, DeleteEndpoints, UpdateEndpoints, plan, selector_matches
from actors.runtime.cache import by_namespace, key_of, split_key
from actors.runtime.controller import Controller
from actors.runtime.shared import SharedInformers
from schemas.errors import AlreadyExists, Conflict, NotFound

log = structlog.get_logger(__name__)

NS_INDEX = "namespace"


class EndpointsController(Controller):
    name = "endpoints-controller"
    workers = 2

    def __init__(self, api: Any, informers: SharedInformers, *, workers: int | None = None) -> None:
        super().__init__(workers=workers)
        self.api = api
        self.services = informers.informer("services")
        self.pods = informers.informer("pods")
        self.endpoints = informers.informer("endpoints")
        self.services.add_index(NS_INDEX, by_namespace)
        self.pods.add_index(NS_INDEX, by_namespace)
        self.watch(self.services)
        self.watch(self.pods, self._services_of_pod)
        self.watch(self.endpoints, self._service_of_endpoints)

    def _service_of_endpoints(self, endpoints: dict[str, Any]) -> str | None:
        """Repair Endpoints of existing Services only: an Endpoints written before its (selector-less)
        Service must not be deleted. Endpoints left by a Service deleted while no controller ran are
        therefore kept (Kubernetes deletes those at startup)."""
        key = key_of(endpoints)
        return key if self.services.get(key) is not None else None

    def _services_of_pod(self, pod: dict[str, Any]) -> list[str]:
        meta = pod.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        labels = meta.get("labels") or {}
        return [
            key_of(svc)
            for svc in self.services.by_index(NS_INDEX, namespace)
            if selector_matches((svc.get("spec") or {}).get("selector") or {}, labels)
        ]

    async def reconcile(self, key: str) -> None:
        namespace, name = split_key(key)
        namespace = namespace or "default"
        service = self.services.get(key)
        pods = self.pods.by_index(NS_INDEX, namespace) if service is not None else []
        existing = self.endpoints.get(key)
        for action in plan(service, pods, existing, namespace=namespace, name=name):
            if isinstance(action, CreateEndpoints):
                try:
                    await self.api.create("endpoints", action.endpoints, namespace=namespace)
                except AlreadyExists:
                    raise Conflict(f'endpoints "{name}" exists; waiting for the cache') from None
                log.info("endpoints.created", service=key)
            elif isinstance(action, UpdateEndpoints):
                await self.api.update("endpoints", action.endpoints, namespace=namespace)
                log.debug("endpoints.updated", service=key)
            elif isinstance(action, DeleteEndpoints):
                try:
                    await self.api.delete("endpoints", name, namespace=namespace)
                except NotFound:
                    pass
                log.info("endpoints.deleted", service=key)
