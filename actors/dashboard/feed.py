"""The dashboard's live feed: the informers' caches and every change, fanned out to the open pages.

Lifecycle. :class:`Feed` asks the process's :class:`~actors.runtime.shared.SharedInformers` for one
informer per shown resource (nodes, namespaces, pods, each workload kind) and adds handlers that
only hand the change to each subscriber's queue (informer handlers must not await). Kubernetes
Events are not in the state bucket: :meth:`Feed.follow_events` (an agent) reads the events stream
with an ordered JetStream consumer from its start, which fills a bounded cache of the latest
``events_limit`` Events and then follows new ones live.

A page's SSE connection (server.py) calls :meth:`Feed.subscribe`, then :meth:`Feed.snapshot`
without awaiting in between: the snapshot is the caches at that instant and every change after it
is in the subscriber's queue, so the page never misses one (a change may arrive twice; the page
upserts by key). A subscriber that falls ``queue_limit`` changes behind is marked ``lagged`` and
its stream ends; the browser's EventSource reconnects and starts from a fresh snapshot, as an
informer re-lists after a watch error.

In ``jetkube up`` the informers are the control plane's own (one copy of the caches in the
process); ``jetkube dashboard`` makes its own set, read through the api client like any client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import nats.js.errors
import structlog
from nats.js import api as jsapi

from actors.dashboard.views import WORKLOADS
from actors.runtime.backoff import Backoff
from actors.runtime.informer import Informer
from actors.runtime.shared import SharedInformers
from bus.codec import decode
from bus.connection import Bus
from bus.events import STREAM, SUBJECT_PREFIX
from schemas.registry import BY_PLURAL

log = structlog.get_logger(__name__)

Obj = dict[str, Any]


def shown_resources() -> tuple[str, ...]:
    """The resources the dashboard follows: nodes, namespaces, pods and the known workload kinds."""
    return ("nodes", "namespaces", "pods", *(r for r in WORKLOADS if r in BY_PLURAL))


@dataclass(frozen=True)
class Change:
    resource: str
    type: str  # "upsert" or "delete"
    object: Obj


@dataclass(eq=False)  # one per open page, hashed by identity
class Subscriber:
    namespace: str | None  # None: every namespace
    queue: asyncio.Queue[Change]
    lagged: bool = False

    def offer(self, change: Change) -> None:
        if self.lagged:
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.lagged = True


def event_key(event: Obj) -> str:
    meta = event.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


class Feed:
    def __init__(
        self,
        informers: SharedInformers,
        bus: Bus,
        *,
        resources: tuple[str, ...] | None = None,
        events_limit: int = 1000,
        queue_limit: int = 10_000,
    ) -> None:
        self.bus = bus
        self.events_limit = events_limit
        self.queue_limit = queue_limit
        self.informers: dict[str, Informer] = {}
        self.events: OrderedDict[str, Obj] = OrderedDict()
        self._subscribers: set[Subscriber] = set()
        for resource in resources or shown_resources():
            informer = informers.informer(resource)
            informer.add_handler(
                on_add=lambda o, r=resource: self._publish(r, "upsert", o),
                on_update=lambda _old, o, r=resource: self._publish(r, "upsert", o),
                on_delete=lambda o, r=resource: self._publish(r, "delete", o),
            )
            self.informers[resource] = informer

    # -- reading ------------------------------------------------------------------------------

    @property
    def synced(self) -> bool:
        return all(i.synced for i in self.informers.values())

    async def wait_synced(self, timeout: float | None = None) -> None:
        for informer in self.informers.values():
            await informer.wait_synced(timeout)

    def objects(self, resource: str) -> list[Obj]:
        if resource == "events":
            return list(self.events.values())
        informer = self.informers.get(resource)
        return informer.list() if informer is not None else []

    def get(self, resource: str, key: str) -> Obj | None:
        informer = self.informers.get(resource)
        return informer.get(key) if informer is not None else None

    def snapshot(self) -> dict[str, list[Obj]]:
        """Every cached object of every followed resource, Events included."""
        out = {resource: self.objects(resource) for resource in self.informers}
        out["events"] = self.objects("events")
        return out

    # -- subscribers --------------------------------------------------------------------------

    def subscribe(self, namespace: str | None) -> Subscriber:
        sub = Subscriber(namespace, asyncio.Queue(self.queue_limit))
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def _publish(self, resource: str, type_: str, obj: Obj) -> None:
        if not self._subscribers:
            return
        change = Change(resource, type_, obj)
        for sub in list(self._subscribers):
            sub.offer(change)

    def publish_samples(self, samples: list[Any]) -> None:
        """A collector round's new points (actors.metrics.history.Sample) to every open page."""
        if samples and self._subscribers:
            self._publish("metrics", "samples", {"samples": [s.to_json() for s in samples]})

    # -- events -------------------------------------------------------------------------------

    def remember_event(self, event: Obj) -> None:
        """Keep the latest state of an Event (by name), at most ``events_limit`` of them."""
        key = event_key(event)
        self.events.pop(key, None)
        self.events[key] = event
        while len(self.events) > self.events_limit:
            self.events.popitem(last=False)
        self._publish("events", "upsert", event)

    async def follow_events(self) -> None:
        """Agent: the events stream from its start (filling the cache), then live. Waits for the
        stream while the control plane has not made it yet; restarted by its supervisor on errors."""

        async def on_msg(msg: Any) -> None:
            try:
                event = decode(msg.data)
            except Exception as exc:
                log.warning("dashboard.bad_event", error=str(exc))
                return
            if isinstance(event, dict):
                event.setdefault("metadata", {})["resourceVersion"] = str(msg.metadata.sequence.stream)
                self.remember_event(event)

        backoff = Backoff(0.2, 5.0)
        while True:  # the api creates the stream; while the control plane starts, wait for it
            try:
                await self.bus.js.stream_info(STREAM)
                break
            except nats.js.errors.NotFoundError:
                await asyncio.sleep(backoff.next())
        sub = await self.bus.js.subscribe(
            f"{SUBJECT_PREFIX}.>",
            stream=STREAM,
            ordered_consumer=True,
            deliver_policy=jsapi.DeliverPolicy.ALL,
            cb=on_msg,
        )
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
