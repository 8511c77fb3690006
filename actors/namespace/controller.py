"""The namespace controller: empties a Terminating namespace, then clears its ``kubernetes`` finalizer.

Informer: namespaces only. The contents of a namespace being deleted are read with live lists
through the api (one per namespaced resource), not from caches: namespace deletion is rare, and a
live list is what lets the controller be sure the namespace is empty before it finalizes it (an
informer lagging behind could hide an object just created). While objects remain (pods terminating
gracefully, owners waiting on the garbage collector) the namespace is queued again every
:data:`RECHECK_SECONDS`.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.namespace.plan import (
    SKIPPED_RESOURCES,
    DeleteContent,
    RemoveFinalizer,
    SetTerminating,
    is_terminating,
    plan,
)
from actors.runtime.controller import Controller
from actors.runtime.shared import SharedInformers
from schemas.errors import NotFound
from schemas.registry import all_resources

log = structlog.get_logger(__name__)

RECHECK_SECONDS = 1.0


def namespaced_resources() -> list[str]:
    return [r.plural for r in all_resources() if r.namespaced and r.plural not in SKIPPED_RESOURCES]


class NamespaceController(Controller):
    name = "namespace-controller"
    workers = 2

    def __init__(
        self,
        api: Any,
        informers: SharedInformers,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        workers: int | None = None,
    ) -> None:
        super().__init__(workers=workers)
        self.api = api
        self.recheck_seconds = recheck_seconds
        self.namespaces = informers.informer("namespaces")
        self.watch(self.namespaces)

    async def reconcile(self, key: str) -> None:
        namespace = self.namespaces.get(key)
        if namespace is None or not is_terminating(namespace):
            return
        contents: dict[str, list[dict[str, Any]]] = {}
        for resource in namespaced_resources():
            listed = await self.api.list(resource, namespace=key)
            contents[resource] = listed.get("items") or []
        actions = plan(namespace, contents)
        finalized = False
        for action in actions:
            if isinstance(action, SetTerminating):
                await self.api.update_status("namespaces", action.namespace)
            elif isinstance(action, DeleteContent):
                try:
                    await self.api.delete(action.resource, action.name, namespace=action.namespace)
                except NotFound:
                    pass
                log.info("namespace.deleting", namespace=key, resource=action.resource, name=action.name)
            elif isinstance(action, RemoveFinalizer):
                try:
                    await self.api.update("namespaces", action.namespace)
                except NotFound:
                    return
                finalized = True
                log.info("namespace.finalized", namespace=key)
        if not finalized:
            self.queue.add_after(key, self.recheck_seconds)
