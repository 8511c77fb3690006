"""A read-only mirror of one resource kept current from the store's watch.

The api actor needs a few small views of current state at admission time (which namespaces exist,
which ClusterIPs are taken, the pods bound to each node) and must not pay a store round trip per
request for them. ``Mirror.run()`` lists and then follows the same consumer (no gap), keeps
``objects`` by key, calls ``on_event`` listeners synchronously, and records the revision it has
applied. It is supervised: if the watch breaks it raises and the supervisor restarts it, and the
re-list replaces the whole view.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog

from bus.cancelsafe import wait_for
from bus.store import Store, WatchEvent

log = structlog.get_logger(__name__)

Listener = Callable[[WatchEvent, dict[str, Any] | None], None]


def object_key_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


class Mirror:
    def __init__(self, store: Store, resource: str) -> None:
        self.store = store
        self.resource = resource
        self.objects: dict[str, dict[str, Any]] = {}
        self.revision = 0
        self.synced = asyncio.Event()
        self._listeners: list[Listener] = []
        self._reset_listeners: list[Callable[[], None]] = []

    def listen(self, listener: Listener, on_reset: Callable[[], None] | None = None) -> None:
        self._listeners.append(listener)
        if on_reset is not None:
            self._reset_listeners.append(on_reset)

    async def wait_synced(self, timeout: float = 30.0) -> None:
        await wait_for(self.synced.wait(), timeout)

    async def run(self) -> None:
        fresh: dict[str, dict[str, Any]] = {}
        listing = True
        async with contextlib.aclosing(self.store.watch(self.resource)) as events:
            async for event in events:
                if listing:
                    if event.type == "BOOKMARK":
                        listing = False
                        self.objects = fresh
                        self.revision = event.revision
                        for reset in self._reset_listeners:
                            reset()
                        for obj in fresh.values():
                            self._notify(
                                WatchEvent("ADDED", obj, int(obj["metadata"]["resourceVersion"])), None
                            )
                        self.synced.set()
                    else:
                        fresh[object_key_of(event.object)] = event.object
                    continue
                key = object_key_of(event.object)
                old = self.objects.get(key)
                if old is not None and int(old["metadata"]["resourceVersion"]) >= event.revision:
                    continue
                if event.type == "DELETED":
                    self.objects.pop(key, None)
                else:
                    self.objects[key] = event.object
                self.revision = max(self.revision, event.revision)
                self._notify(event, old)

    def _notify(self, event: WatchEvent, old: dict[str, Any] | None) -> None:
        for listener in self._listeners:
            try:
                listener(event, old)
            except Exception:
                log.exception("mirror.listener_failed", resource=self.resource)
