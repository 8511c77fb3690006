"""Kubernetes Events on their own JetStream stream, with a maximum age.

Subject (public): ``jetkube.events.<namespace>.<involved kind, lowercase>.<involved name>``; the
payload is msgpack of a v1 Event. Repeats of one (object, type, reason, message) keep the Event's
name and raise ``count``, as Kubernetes' event aggregation does; a reader keeps the last message per
Event name. The stream drops events older than ``max_age`` (one hour by default), so ``describe``
shows recent history and the stream's size stays bounded.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
from typing import Any

import nats.errors
import nats.js.errors
import structlog
from nats.js import api as jsapi

from bus.codec import decode, encode
from bus.connection import Bus

log = structlog.get_logger(__name__)

STREAM = "JETKUBE_EVENTS"
SUBJECT_PREFIX = "jetkube.events"
DEFAULT_MAX_AGE = 3600.0


def _now() -> str:
    from schemas.status import now_rfc3339

    return now_rfc3339()


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

    def __init__(self, bus: Bus, component: str, host: str | None = None) -> None:
        self.bus = bus
        self.component = component
        self.host = host or socket.gethostname()
        self._seen: dict[str, dict[str, Any]] = {}

    async def record(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        kind = obj.get("kind") or "Object"
        ns = meta.get("namespace") or "default"
        digest = hashlib.sha1(
            f"{meta.get('uid')}|{type_}|{reason}|{message}|{self.component}".encode()
        ).hexdigest()[:16]
        now = _now()
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
        try:
            await self.bus.js.publish(
                event_subject(meta.get("namespace"), kind, meta.get("name", "")), encode(event)
            )
        except (nats.errors.Error, OSError) as err:
            log.warning("event.lost", reason=reason, object=meta.get("name"), error=str(err))


async def list_events(
    bus: Bus, namespace: str | None = None, *, kind: str | None = None, name: str | None = None
) -> list[dict[str, Any]]:
    """The stream's events (last state of each Event name), oldest first."""
    if kind and name:
        subject = event_subject(namespace, kind, name)
    elif namespace:
        subject = f"{SUBJECT_PREFIX}.{namespace}.>"
    else:
        subject = f"{SUBJECT_PREFIX}.>"
    try:
        info = await bus.js.stream_info(STREAM, subjects_filter=subject)
    except nats.js.errors.NotFoundError:
        return []
    if not info.state.messages:
        return []
    sub = await bus.js.subscribe(
        subject, ordered_consumer=True, stream=STREAM, deliver_policy=jsapi.DeliverPolicy.ALL
    )
    latest: dict[str, dict[str, Any]] = {}
    try:
        cinfo = await sub.consumer_info()
        if cinfo.num_pending:
            while True:
                msg = await sub.next_msg(timeout=10)
                ev = decode(msg.data)
                if isinstance(ev, dict):
                    ev.setdefault("metadata", {})["resourceVersion"] = str(msg.metadata.sequence.stream)
                    latest[ev["metadata"].get("name", "")] = ev
                if msg.metadata.num_pending == 0:
                    break
    finally:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()
    return sorted(latest.values(), key=lambda e: e.get("lastTimestamp") or "")
