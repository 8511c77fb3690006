"""Route pod changes to the one node they concern: ``jetkube.nodepods.<node>``.

A kubelet must not pay for the whole cluster's pods. The relay follows every pod once, keeps an
index node -> pods, and republishes each change of a bound pod on its node's subject as msgpack
``{"type": ADDED|MODIFIED|DELETED, "object": pod}``. A pod bound to a node is ADDED there; a pod
leaving a node (deleted) is DELETED there. Kubelets subscribe to their subject first and then ask
``jetkube.api.nodepods`` for their current list (served from the same index with the revision it
reflects), so nothing falls between. With several api replicas every replica relays; kubelets
drop repeats by resourceVersion. A relay that starts fills its index from the informer's first list
without sending, then, once serving, announces every bound pod on its node's subject: the one way a
change the previous relay never sent (its process stopped first) reaches the kubelet.

Gaps. Plain publishes are lost while a kubelet reconnects, when the relay's own publish fails, or
when a relay stops with changes still in its outbox. So every message carries the relay's identity
(``relay``, random per process) and a sequence number per node (``seq``, 1, 2, ... counted when the
change is routed, so it counts what was lost too); the node's listing carries the same pair
(``metadata.relay``, ``metadata.relaySeq``: the listing reflects every change up to that number).
The kubelet side (``ApiClient.watch_node_pods``) re-lists on a jump in a relay's sequence, on a
relay it has never heard (a restarted api: its announce carries adds only, never the deletes its
predecessor did not send), on a reconnect of its own connection, and every few seconds anyway;
a re-list turns whatever it missed into the events it would have received.

Its source of pods is the process's shared pods informer (``NodeRelay.from_informer(bus,
informer)``, whose handlers feed the routing): one copy of the pods per process.
"""

from __future__ import annotations

import asyncio
import uuid
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
        self._informer: Any = None  # the pods informer, when fed by one (from_informer)
        self._announced = False
        self.relay_id = uuid.uuid4().hex[:12]
        self.seq: dict[str, int] = {}  # node -> the sequence number of its last routed message
        self.publish_failures = 0

    @classmethod
    def from_informer(cls, bus: Bus, informer: Any) -> NodeRelay:
        """A relay fed by a shared pods informer (``actors.runtime.informer.Informer``).

        Its handlers run in the informer's loop and only route (no await, no write), as the
        informer requires; a re-list reports what changed as adds/updates/deletes, so the index
        converges."""
        relay = cls(bus)
        relay.source = _InformerSource(informer)
        relay._informer = informer
        informer.add_handler(
            on_add=lambda obj: relay.route("ADDED", obj, None),
            on_update=lambda old, new: relay.route("MODIFIED", new, old),
            on_delete=lambda obj: relay.route("DELETED", obj, None),
        )
        return relay

    def route(self, type_: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        # The informer's first list only fills the index: run() announces every pod once the
        # process is serving, so a restart answers and schedules before it re-sends 100,000 pods.
        live = self._informer is None or self._informer.synced
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
            if live:
                self._outbox.put_nowait((old_node, self._message(old_node, "DELETED", obj)))
        if new_node:
            keys = self.by_node.setdefault(new_node, set())
            kind = "MODIFIED" if key in keys else "ADDED"
            keys.add(key)
            if live:
                self._outbox.put_nowait((new_node, self._message(new_node, kind, obj)))

    def _message(self, node: str, type_: str, obj: dict[str, Any]) -> bytes:
        seq = self.seq[node] = self.seq.get(node, 0) + 1
        return encode({"type": type_, "object": obj, "relay": self.relay_id, "seq": seq})

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
            "metadata": {
                "resourceVersion": str(source.revision if source is not None else 0),
                "relay": self.relay_id,
                "relaySeq": self.seq.get(node, 0),
            },
            "items": items,
        }

    async def run(self) -> None:
        if self._informer is not None and not self._announced:
            await self._announce()
        while True:
            node, payload = await self._outbox.get()
            await self._publish(node, payload)

    async def _announce(self) -> None:
        """Once the informer has listed: every pod, ADDED, on its node's subject.

        Kubelets already hold most of them, but a change the previous relay had not sent when its
        process stopped reaches them only this way (they drop what they have by resourceVersion).
        Changes that arrive meanwhile wait in the outbox: older than what is announced, or equal."""
        await self._informer.wait_synced()
        source = self.source
        assert source is not None
        sent = 0
        for node in list(self.by_node):
            for key in sorted(self.by_node.get(node, ())):
                obj = source.get(key)
                if obj is not None:
                    await self._publish(node, self._message(node, "ADDED", obj))
                    sent += 1
            await asyncio.sleep(0)  # one node at a time: requests and the scheduler go on between
        self._announced = True
        log.info("noderelay.announced", pods=sent, nodes=len(self.by_node))

    async def _publish(self, node: str, payload: bytes) -> None:
        try:
            await self.bus.nc.publish(f"{NODEPODS_PREFIX}.{node}", payload)
        except nats.errors.Error as err:
            # The sequence number was spent: the kubelet sees the jump at the next message, or
            # finds the difference at its periodic re-list.
            self.publish_failures += 1
            log.warning("noderelay.publish_failed", node=node, error=str(err))
