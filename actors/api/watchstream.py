"""A watch served by the api: for clients that may not read the state bucket's stream themselves.

Wire protocol (public; README): the client subscribes to an inbox of its own (an authenticated
user: under ``_INBOX.<user>.``) and sends ``jetkube.api[.u.<user>].watch`` with ``resource``,
``namespace``, ``labelSelector``, ``fieldSelector``, ``resourceVersion`` and ``stream`` (the inbox).
The api checks the request (RBAC: verb ``watch``), answers ``{"streaming": true}`` at once, then
sends bus/chunkstream.py's acknowledged chunks to the inbox, each a msgpack map:

* ``{"events": [[type, object, revision], ...]}``: the next events, in order (type ADDED, MODIFIED,
  DELETED or BOOKMARK); an empty list is a heartbeat, sent after ``HEARTBEAT`` seconds of silence.
* ``{"error": <Status>}``: the end, because the watch failed.

A chunk nobody acknowledges (no responders once the client unsubscribed, or no ack within the
stream's ``ACK_TIMEOUT``) ends the watch, so an abandoned watch stops within ``ACK_TIMEOUT`` plus
a heartbeat. Each watch is one guarded task reading the store's watch.
Secrets come out of the api's store decrypted (actors/api/encryption.py); Events are read from their own
stream (bus/events.py's ``watch_events``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from actors.api.selectors import start_revision, watch_filter
from actors.runtime.supervisor import guarded_task
from bus.cancelsafe import wait_for
from bus.chunkstream import HEARTBEAT_SECONDS, PeerGone, send_chunk
from bus.connection import Bus
from bus.events import watch_events
from bus.store import WatchEvent
from bus.watchfilter import SelectorFilter
from schemas.errors import Gone, InternalError, JetkubeError, TooManyRequests

log = structlog.get_logger(__name__)

HEARTBEAT = HEARTBEAT_SECONDS
FLUSH = 0.02
MAX_BATCH = 500
BACKLOG = MAX_BATCH * 4  # events a watcher may fall behind by before it is cut off
MAX_WATCHES_PER_USER = 64  # open watches of one user (system users: not counted)

#: user -> watches open now (actors/api/authz/gate.py passes the user)
OPEN: dict[str, int] = {}


async def pump(
    bus: Bus,
    store: Any,
    resource: str,
    namespace: str | None,
    start: int | None,
    keep: SelectorFilter,
    inbox: str,
    *,
    backlog: int = BACKLOG,
) -> None:
    """Forward the store's watch to ``inbox`` until the client goes or the watch fails; a client
    that falls ``backlog`` events behind gets 410 Gone (Expired) and must re-list, so no queue
    grows without end."""
    queue: asyncio.Queue[WatchEvent | JetkubeError] = asyncio.Queue(maxsize=backlog + 1)

    async def read() -> None:
        if resource == "events":  # their own stream (bus/events.py)
            source = watch_events(bus, namespace, start)
        else:
            source = store.watch(resource, namespace, start)
        try:
            async with contextlib.aclosing(source) as events:
                async for event in events:
                    kept = keep(event)
                    if kept is None:
                        continue
                    if queue.qsize() >= backlog:  # fell behind: cut off, the client re-lists
                        log.info("api.watch_fell_behind", resource=resource, inbox=inbox, backlog=backlog)
                        queue.put_nowait(
                            Gone(
                                f"the watch of {resource} fell more than {backlog} events behind and was "
                                "closed; list again and watch from the list's resourceVersion"
                            )
                        )
                        return
                    queue.put_nowait(kept)
        except JetkubeError as err:
            await queue.put(err)
        except Exception as err:
            log.exception("api.watch_failed", resource=resource)
            await queue.put(InternalError(f"the watch failed: {type(err).__name__}: {err}"))

    reader = guarded_task(f"api-watch-read-{inbox}", read())
    try:
        while True:
            try:
                first = await wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                await send_chunk(bus, inbox, {"events": []})
                continue
            batch = [first]
            await asyncio.sleep(FLUSH) if queue.empty() else None
            while not queue.empty() and len(batch) < MAX_BATCH and not isinstance(batch[-1], JetkubeError):
                batch.append(queue.get_nowait())
            events = [[e.type, e.object, e.revision] for e in batch if isinstance(e, WatchEvent)]
            if events:
                await send_chunk(bus, inbox, {"events": events})
            if isinstance(batch[-1], JetkubeError):
                await send_chunk(bus, inbox, {"error": batch[-1].to_status()})
                return
    except PeerGone as gone:
        log.debug("api.watch_client_gone", inbox=inbox, why=str(gone))
    finally:
        reader.cancel()


def start_watch(
    bus: Bus,
    store: Any,
    attrs: Any,
    payload: dict[str, Any],
    inbox: str,
    *,
    user: str | None = None,
    limit: int = MAX_WATCHES_PER_USER,
    backlog: int = BACKLOG,
) -> dict[str, Any]:
    """Start the pump for an authorized watch request; the immediate reply. Bad selectors or a bad
    resourceVersion are a 400 naming the field, before anything streams (actors/api/selectors.py).
    A ``user`` (None: a system user, not counted) with ``limit`` watches open gets 429."""
    ns = attrs.namespace or None
    start, keep = start_revision(payload), watch_filter(payload)
    if user is not None and OPEN.get(user, 0) >= limit:
        raise TooManyRequests(
            f'User "{user}" has {OPEN[user]} watches open, the most one user may; close one first',
            details={"retryAfterSeconds": 1},
        )

    async def counted() -> None:
        try:
            await pump(bus, store, attrs.resource, ns, start, keep, inbox, backlog=backlog)
        finally:
            if user is not None:
                OPEN[user] -= 1
                if OPEN[user] <= 0:
                    del OPEN[user]

    if user is not None:
        OPEN[user] = OPEN.get(user, 0) + 1
    guarded_task(f"api-watch-{inbox}", counted())
    return {"streaming": True}
