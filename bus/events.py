"""Kubernetes Events on their own JetStream stream, with a maximum age.

Subject (public): ``jetkube.events.<namespace>.<involved kind, lowercase>.<involved name>``; the
payload is msgpack of a v1 Event. Repeats of one (object, type, reason, message) keep the Event's
name and raise ``count``, as Kubernetes' event aggregation does; a reader keeps the last message per
Event name. The stream drops events older than ``max_age`` (one hour by default), so ``describe``
shows recent history and the stream's size stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import nats.errors
import nats.js.errors
import structlog
from nats.js import api as jsapi

from bus.cancelsafe import wait_for
from bus.codec import decode, encode
from bus.connection import Bus
from bus.pipeline import pipeline_for
from bus.snapshot import sequences
from bus.store import WatchEvent
from schemas.errors import ServiceUnavailable
from schemas.status import now_rfc3339

log = structlog.get_logger(__name__)

STREAM = "JETKUBE_EVENTS"
SUBJECT_PREFIX = "jetkube.events"
DEFAULT_MAX_AGE = 3600.0
ACK_TIMEOUT = 10.0


async def ensure_stream(bus: Bus, *, max_age: float = DEFAULT_MAX_AGE, replicas: int = 1) -> None:
    try:
        await bus.js.stream_info(STREAM)
    except nats.js.errors.NotFoundError:
        with contextlib.suppress(nats.js.errors.BadRequestError):
            await bus.js.add_stream(
                name=STREAM,
                subjects=[f"{SUBJECT_PREFIX}.>"],
                max_age=max_age,
                storage=jsapi.StorageType.FILE,
                num_replicas=replicas,
                allow_direct=True,
            )


def event_subject(namespace: str | None, kind: str, name: str) -> str:
    return f"{SUBJECT_PREFIX}.{namespace or '_'}.{kind.lower()}.{name}"


class EventRecorder:
    """Records Events about objects; never raises (an event lost is logged, not fatal)."""

    def __init__(
        self,
        bus: Bus,
        component: str,
        host: str | None = None,
        *,
        max_pending: int = 4096,
        ack_timeout: float = ACK_TIMEOUT,
    ) -> None:
        self.bus = bus
        self.component = component
        self.host = host or socket.gethostname()
        self._seen: dict[str, dict[str, Any]] = {}
        self.max_pending = max_pending
        self.ack_timeout = ack_timeout
        self._pending: deque[asyncio.Future[int]] = deque()

    async def record(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        kind = obj.get("kind") or "Object"
        ns = meta.get("namespace") or "default"
        digest = hashlib.sha1(
            f"{meta.get('uid')}|{type_}|{reason}|{message}|{self.component}".encode()
        ).hexdigest()[:16]
        now = now_rfc3339()
        previous = self._seen.get(digest)
        event: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta.get('name', 'unknown')}.{digest}", "namespace": ns},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion", "v1"),
                "kind": kind,
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": self.component, "host": self.host},
            "reportingComponent": self.component,
            "reportingInstance": self.host,
            "firstTimestamp": previous["firstTimestamp"] if previous else now,
            "lastTimestamp": now,
            "count": (previous["count"] + 1) if previous else 1,
        }
        if len(self._seen) > 10000:
            self._seen.clear()
        self._seen[digest] = {"firstTimestamp": event["firstTimestamp"], "count": event["count"]}
        # Fire and forget: the publish is pipelined (in order on this connection) and its ack
        # checked by a callback; only past ``max_pending`` unacknowledged events does record()
        # wait, for the oldest, so a slow store bounds the buffer instead of growing it.
        while len(self._pending) >= self.max_pending:
            oldest = self._pending.popleft()
            with contextlib.suppress(Exception):
                await wait_for(asyncio.shield(oldest), self.ack_timeout)
        try:
            fut = await pipeline_for(self.bus.nc).publish(
                event_subject(meta.get("namespace"), kind, meta.get("name", "")),
                encode(event),
                {},
                urgent=False,  # nobody waits on an event: the flusher's next write carries it
            )
        except (nats.errors.Error, OSError) as err:
            log.warning("event.lost", reason=reason, object=meta.get("name"), error=str(err))
            return
        self._pending.append(fut)
        name = meta.get("name")
        fut.add_done_callback(lambda f: self._acked(f, reason, name))
        # An ack that never comes (no stream took the event) is given up on: the event is lost,
        # logged, and neither this deque nor the connection's reply map keeps it.
        timer = asyncio.get_running_loop().call_later(
            self.ack_timeout, self._give_up, fut, reason, meta.get("name")
        )
        fut.add_done_callback(lambda _f: timer.cancel())

    def _give_up(self, fut: asyncio.Future[int], reason: str, name: str | None) -> None:
        if not fut.done():
            log.warning("event.lost", reason=reason, object=name, error="no acknowledgement in time")
            fut.cancel()

    @property
    def pending(self) -> int:
        """Events published and not yet acknowledged (nor given up on)."""
        return len(self._pending)

    def _acked(self, fut: asyncio.Future[int], reason: str, name: str | None) -> None:
        with contextlib.suppress(ValueError):
            self._pending.remove(fut)
        if fut.cancelled():
            return
        err = fut.exception()
        if err is not None:
            log.warning("event.lost", reason=reason, object=name, error=str(err))

    async def flush(self, timeout: float = ACK_TIMEOUT) -> None:
        """Wait until every event recorded so far is acknowledged (or ``timeout``)."""
        pending = list(self._pending)
        if pending:
            await asyncio.wait(pending, timeout=timeout)


async def publish_event(bus: Bus, event: dict[str, Any]) -> dict[str, Any]:
    """Store one Event given through the api (it gets a uid and timestamps, as the store gives)."""
    import uuid

    event = dict(event)
    meta = dict(event.get("metadata") or {})
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_rfc3339()
    event["metadata"] = meta
    involved = event.get("involvedObject") or {}
    subject = event_subject(
        meta.get("namespace"),
        str(involved.get("kind") or "object"),
        str(involved.get("name") or meta.get("name")),
    )
    ack = await bus.js.publish(subject, encode(event))
    meta["resourceVersion"] = str(ack.seq)
    return event


def _events_filter(namespace: str | None, kind: str | None = None, name: str | None = None) -> str:
    if kind and name:
        return event_subject(namespace, kind, name)
    if namespace:
        return f"{SUBJECT_PREFIX}.{namespace}.>"
    return f"{SUBJECT_PREFIX}.>"


async def events_snapshot(
    bus: Bus, namespace: str | None = None, *, kind: str | None = None, name: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The stream's events (last state of each Event name, oldest first) and the revision a watch
    goes on from: every event at or below it is in the list."""
    subject = _events_filter(namespace, kind, name)
    try:
        info = await bus.js.stream_info(STREAM, subjects_filter=subject)
    except nats.js.errors.NotFoundError:
        return [], 0
    revision = int(info.state.last_seq or 0)
    if not info.state.messages:
        return [], revision
    sub = await bus.js.subscribe(
        subject, ordered_consumer=True, stream=STREAM, deliver_policy=jsapi.DeliverPolicy.ALL
    )
    latest: dict[str, dict[str, Any]] = {}
    try:
        cinfo = await sub.consumer_info()
        delivered = int(cinfo.delivered.consumer_seq or 0) if cinfo.delivered else 0
        if cinfo.num_pending or delivered:
            while True:
                msg = await sub.next_msg(timeout=10)
                seq, _consumer_seq, pending = sequences(msg)
                revision = max(revision, seq)
                ev = _event_of(msg.data, seq)
                if ev is not None:
                    latest[ev["metadata"].get("name", "")] = ev
                if pending == 0:
                    break
    finally:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()
    return sorted(latest.values(), key=lambda e: e.get("lastTimestamp") or ""), revision


async def list_events(
    bus: Bus, namespace: str | None = None, *, kind: str | None = None, name: str | None = None
) -> list[dict[str, Any]]:
    """The stream's events (last state of each Event name), oldest first."""
    return (await events_snapshot(bus, namespace, kind=kind, name=name))[0]


def _event_of(data: bytes, seq: int) -> dict[str, Any] | None:
    ev = decode(data)
    if not isinstance(ev, dict):
        return None
    meta = ev.get("metadata")
    if not isinstance(meta, dict):
        meta = ev["metadata"] = {}
    meta["resourceVersion"] = str(seq)
    return ev


async def watch_events(
    bus: Bus, namespace: str | None = None, from_revision: int | None = None
) -> AsyncIterator[WatchEvent]:
    """Events as a watch, for ``get events -w``. Without ``from_revision``: the current events as
    ADDED, a BOOKMARK, then each new one; with it, every one recorded after it. A repeat (the
    recorder raised ``count``) is MODIFIED, a first occurrence ADDED; events never arrive as
    DELETED: they leave the stream by age."""
    if from_revision is None:
        items, from_revision = await events_snapshot(bus, namespace)
        for ev in items:
            yield WatchEvent("ADDED", ev, int(ev["metadata"]["resourceVersion"]))
        yield WatchEvent("BOOKMARK", {}, from_revision)
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    async def deliver(msg: Any) -> None:
        inbox.put_nowait(msg)

    try:
        sub = await bus.js.subscribe(
            _events_filter(namespace),
            cb=deliver,
            ordered_consumer=True,
            stream=STREAM,
            config=jsapi.ConsumerConfig(
                deliver_policy=jsapi.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=from_revision + 1
            ),
        )
    except nats.js.errors.NotFoundError as err:
        raise ServiceUnavailable(
            "the events stream does not exist yet: is the control plane running?"
        ) from err
    try:
        while True:
            try:
                msg = await wait_for(inbox.get(), 5.0)
            except TimeoutError:
                if bus.nc.is_closed:
                    raise ServiceUnavailable("the watch of events ended: the connection is closed") from None
                continue
            seq = sequences(msg)[0]
            event = _event_of(msg.data, seq)
            if event is not None:
                repeat = isinstance(event.get("count"), int) and event["count"] > 1
                yield WatchEvent("MODIFIED" if repeat else "ADDED", event, seq)
    finally:
        with contextlib.suppress(nats.errors.Error, asyncio.CancelledError):
            await sub.unsubscribe()
