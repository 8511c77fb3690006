"""Route pod changes to the one node they concern: ``jetkube.nodepods.<node>``.

A kubelet must not pay for the whole cluster's pods. The relay follows every pod once (one mirror
in the api process), keeps an index node -> pods, and republishes each change of a bound pod on
its node's subject as msgpack ``{"type": ADDED|MODIFIED|DELETED, "object": pod}``. A pod bound to
a node is ADDED there; a pod leaving a node (deleted) is DELETED there. Kubelets subscribe to their
subject first and then ask ``jetkube.api.nodepods`` for their current list (served from the same
index with the revision it reflects), so nothing falls between. With several api replicas every
replica relays; kubelets drop repeats by resourceVersion.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats.errors
import structlog

from actors.api.mirror import Mirror, object_key_of
from bus.client import NODEPODS_PREFIX
from bus.codec import encode
from bus.connection import Bus
from bus.store import WatchEvent

log = structlog.get_logger(__name__)


class NodeRelay:
    def __init__(self, bus: Bus, pods: Mirror) -> None:
        self.bus = bus
        self.pods = pods
        self.by_node: dict[str, set[str]] = {}
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        pods.listen(self._on_event, self._on_reset)

    def _on_reset(self) -> None:
        self.by_node = {}

    def _on_event(self, event: WatchEvent, old: dict[str, Any] | None) -> None:
        obj = event.object
        key = object_key_of(obj)
        deleted = event.type == "DELETED"
        new_node = None if deleted else (obj.get("spec") or {}).get("nodeName")
        previous = old if old is not None else (obj if deleted else None)
        old_node = (previous.get("spec") or {}).get("nodeName") if previous else None
        if old_node and old_node != new_node:
            self.by_node.get(old_node, set()).discard(key)
            self._outbox.put_nowait((old_node, encode({"type": "DELETED", "object": obj})))
        if new_node:
            keys = self.by_node.setdefault(new_node, set())
            kind = "MODIFIED" if key in keys else "ADDED"
            keys.add(key)
            self._outbox.put_nowait((new_node, encode({"type": kind, "object": obj})))

    def pods_on(self, node: str) -> dict[str, Any]:
        items = [self.pods.objects[k] for k in sorted(self.by_node.get(node, ())) if k in self.pods.objects]
        return {
            "apiVersion": "v1",
            "kind": "PodList",
            "metadata": {"resourceVersion": str(self.pods.revision)},
            "items": items,
        }

    async def run(self) -> None:
        while True:
            node, payload = await self._outbox.get()
            try:
                await self.bus.nc.publish(f"{NODEPODS_PREFIX}.{node}", payload)
            except nats.errors.Error as err:
                log.warning("noderelay.publish_failed", node=node, error=str(err))
