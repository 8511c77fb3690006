"""Route pod changes to the one node they concern: ``jetkube.nodepods.<node>``.

A kubelet must not pay for the whole cluster's pods. The relay follows every pod once, keeps an
index node -> pods, and republishes each change of a bound pod on its node's subject as msgpack
``{"type": ADDED|MODIFIED|DELETED, "object": pod}``. A pod bound to a node is ADDED there; a pod
leaving a node (deleted) is DELETED there. Kubelets subscribe to their subject first and then ask
``jetkube.api.nodepods`` for their current list (served from the same index with the revision it
reflects), so nothing falls between. With several api replicas every replica relays; kubelets
drop repeats by resourceVersion.

Its source of pods is the process's shared pods informer (``NodeRelay.from_informer(bus,
informer)``, whose handlers feed the routing): one copy of the pods per process.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import nats.errors
import structlog

from actors.runtime.cache import key_of
from bus.client import NODEPODS_PREFIX
from bus.codec import encode
from bus.connection import Bus

log = structlog.get_logger(__name__)


class PodSource(Protocol):
    """What the relay reads the current pods from."""

    revision: int

    def get(self, key: str) -> dict[str, Any] | None: ...


class _InformerSource:
    def __init__(self, informer: Any) -> None:
        self.informer = informer

    @property
    def revision(self) -> int:
        return int(self.informer.revision)

    def get(self, key: str) -> dict[str, Any] | None:
        obj: dict[str, Any] | None = self.informer.get(key)
        return obj


class NodeRelay:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.by_node: dict[str, set[str]] = {}
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.source: PodSource | None = None

    @classmethod
    def from_informer(cls, bus: Bus, informer: Any) -> NodeRelay:
        """A relay fed by a shared pods informer (``actors.runtime.informer.Informer``).

        Its handlers run in the informer's loop and only route (no await, no write), as the
        informer requires; a re-list reports what changed as adds/updates/deletes, so the index
        converges."""
        relay = cls(bus)
        relay.source = _InformerSource(informer)
        informer.add_handler(
            on_add=lambda obj: relay.route("ADDED", obj, None),
            on_update=lambda old, new: relay.route("MODIFIED", new, old),
            on_delete=lambda obj: relay.route("DELETED", obj, None),
        )
        return relay

    def route(self, type_: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        key = key_of(obj)
        deleted = type_ == "DELETED"
        new_node = None if deleted else (obj.get("spec") or {}).get("nodeName")
        previous = old if old is not None else (obj if deleted else None)
        old_node = (previous.get("spec") or {}).get("nodeName") if previous else None
        if old_node and old_node != new_node:
            keys = self.by_node.get(old_node)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.by_node[old_node]
            self._outbox.put_nowait((old_node, encode({"type": "DELETED", "object": obj})))
        if new_node:
            keys = self.by_node.setdefault(new_node, set())
            kind = "MODIFIED" if key in keys else "ADDED"
            keys.add(key)
            self._outbox.put_nowait((new_node, encode({"type": kind, "object": obj})))

    def pods_on(self, node: str) -> dict[str, Any]:
        source = self.source
        items: list[dict[str, Any]] = []
        if source is not None:
            for key in sorted(self.by_node.get(node, ())):
                obj = source.get(key)
                if obj is not None:
                    items.append(obj)
        return {
            "apiVersion": "v1",
            "kind": "PodList",
            "metadata": {"resourceVersion": str(source.revision if source is not None else 0)},
            "items": items,
        }

    async def run(self) -> None:
        while True:
            node, payload = await self._outbox.get()
            try:
                await self.bus.nc.publish(f"{NODEPODS_PREFIX}.{node}", payload)
            except nats.errors.Error as err:
                log.warning("noderelay.publish_failed", node=node, error=str(err))
