"""``GET /api/watch?namespace=NS``: the page's live updates as server-sent events.

The stream opens with one ``snapshot`` message (every table of the namespace, nodes and namespaces
included), then sends ``changes`` messages: lists of ``{"resource", "type": "upsert"|"delete",
"key", "row"}``, as many as were queued when the writer woke (a burst of changes is one message).
A comment line every ``HEARTBEAT`` seconds keeps proxies from closing an idle stream and lets the
server notice a closed page. No polling: the writer sleeps on its subscriber's queue, which the
informers' handlers fill (feed.py).

After each round of the metrics collector, a ``metrics`` message carries the new points of the
nodes and of the namespace's pods: ``{"samples": [{"kind", "key", "point": [t, cpu_milli,
memory_bytes]}]}`` (the page appends them to the charts it drew from ``/api/metrics/history``).

The stream ends when the subscriber lagged (it fell behind the feed's queue limit) or the server
stops; the browser's EventSource then reconnects by itself and gets a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from aiohttp import web

from actors.dashboard.feed import Change, Feed, Subscriber
from actors.dashboard.views import WORKLOADS, in_namespace, key_of, parse_namespace, row, table
from schemas.printing.age import now_utc

log = structlog.get_logger(__name__)

HEARTBEAT = 15.0
BATCH = 500  # changes per message at most
STOP = Change("", "stop", {})
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def snapshot_message(objects: dict[str, list[dict[str, Any]]], namespace: str | None) -> dict[str, Any]:
    now = now_utc()
    tables = {
        resource: table(resource, items, now, namespace)
        for resource, items in objects.items()
        if resource != "namespaces"
    }
    names = sorted(str((n.get("metadata") or {}).get("name", "")) for n in objects.get("namespaces") or [])
    return {
        "now": now.isoformat(timespec="milliseconds"),
        "namespace": namespace or "",
        "namespaces": names,
        "workloads": [r for r in WORKLOADS if r in tables],
        "tables": tables,
    }


def change_message(change: Change, namespace: str | None) -> dict[str, Any] | None:
    if not in_namespace(change.resource, change.object, namespace):
        return None
    item: dict[str, Any] = {"resource": change.resource, "type": change.type, "key": key_of(change.object)}
    if change.type == "upsert":
        item["row"] = row(change.resource, change.object, now_utc())
    return item


def metrics_message(change: Change, namespace: str | None) -> dict[str, Any] | None:
    """A collector round's new node and pod points (containers are not drawn), for a ``metrics``
    message; None when none is of the page's namespace."""
    samples = [
        x
        for x in change.object.get("samples") or []
        if x["kind"] == "node"
        or (x["kind"] == "pod" and (namespace is None or x["key"].split("/", 1)[0] == namespace))
    ]
    return {"samples": samples} if samples else None


class Streams:
    """The open watch streams of one server, so that stopping the server ends them at once."""

    def __init__(self, feed: Feed, *, sync_timeout: float = 30.0) -> None:
        self.feed = feed
        self.sync_timeout = sync_timeout
        self._open: set[Subscriber] = set()
        self.stopping = False

    def stop(self) -> None:
        """End every open stream (its writer wakes on the STOP marker)."""
        self.stopping = True
        for sub in list(self._open):
            sub.offer(STOP)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        namespace = parse_namespace(request.query.get("namespace"))
        await self.feed.wait_synced(self.sync_timeout)
        # No await between subscribing and the snapshot: every later change is in the queue.
        sub = self.feed.subscribe(namespace)
        objects = self.feed.snapshot()
        self._open.add(sub)
        resp = web.StreamResponse(headers=SSE_HEADERS)
        try:
            await resp.prepare(request)
            await resp.write(b"retry: 1000\n\n" + sse("snapshot", snapshot_message(objects, namespace)))
            del objects
            await self._pump(sub, resp, namespace)
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass  # the page went away, or the server stops
        finally:
            self.feed.unsubscribe(sub)
            self._open.discard(sub)
        return resp

    async def _pump(self, sub: Subscriber, resp: web.StreamResponse, namespace: str | None) -> None:
        while not self.stopping:
            got = await self._next(sub)
            if sub.lagged or self.stopping or got is STOP:
                log.info("dashboard.stream_lagged" if sub.lagged else "dashboard.stream_stopped")
                return
            if got is None:
                await resp.write(b": ping\n\n")
                continue
            batch = [got]
            while len(batch) < BATCH and not sub.queue.empty() and not sub.lagged:
                batch.append(sub.queue.get_nowait())
            metrics = [metrics_message(c, namespace) for c in batch if c.resource == "metrics"]
            items = [change_message(c, namespace) for c in batch if c.resource != "metrics"]
            items = [m for m in items if m is not None]
            if items:
                await resp.write(sse("changes", items))
            for message in metrics:
                if message is not None:
                    await resp.write(sse("metrics", message))

    @staticmethod
    async def _next(sub: Subscriber) -> Change | None:
        """The next change, or None after a quiet ``HEARTBEAT``."""
        try:
            async with asyncio.timeout(HEARTBEAT):
                return await sub.queue.get()
        except TimeoutError:
            return None
