"""The store's reading of many objects: ``Store.list`` and ``Store.watch`` (bus/store.py).

Both use one ordered push consumer on the resource's subjects. ``list`` asks for the last message
per subject, keeps the last value of each key (a delete drops it) and stops when the consumer
reports nothing pending and every delivered message read (bus/snapshot.py), a consistent snapshot
at revision R. ``watch`` continues the same consumer after the snapshot (so list-then-watch can
neither miss nor repeat a change) or starts from a given revision, refused with 410 Gone when that
revision is older than the compacted one. A quiet watch checks now and then that its consumer
still exists, so it ends (and an informer re-lists) instead of waiting forever.

Split out of bus/store.py to keep the store's modules small; ``bus.store`` re-exports
:class:`WatchEvent` and :func:`last_per_subject`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import nats.errors
import nats.js.errors
import structlog
from nats.js import api as jsapi

from bus.caswrites import OP_HEADER
from bus.connection import Bus
from bus.gcpause import pause_gc, resume_gc
from bus.snapshot import is_tombstone, read_snapshot, sequences
from bus.storeerrors import translate
from schemas.errors import Gone, ServiceUnavailable
from schemas.labels import matches_fields, parse_field_selector, parse_selector

if TYPE_CHECKING:
    from bus.store import Store

log = structlog.get_logger("bus.store")


@dataclass(frozen=True)
class WatchEvent:
    """One change: ``type`` is ADDED, MODIFIED, DELETED or BOOKMARK (end of the initial list)."""

    type: str
    object: dict[str, Any]
    revision: int
    # The stored bytes ``object`` was read from, for caches that keep bytes: ``Store.load(raw,
    # revision)`` gives ``object`` again. None where there are none (a delete, a filtered event).
    raw: bytes | None = None


async def list_objects(
    store: Store,
    resource: str,
    namespace: str | None,
    label_selector: str | None,
    field_selector: str | None,
) -> tuple[list[dict[str, Any]], int]:
    """Every live object of a resource (optionally one namespace), and the snapshot's revision."""
    labels = parse_selector(label_selector) if label_selector else None
    fields = parse_field_selector(field_selector) if field_selector else None
    items: list[dict[str, Any]] = []
    revision = 0
    paused = pause_gc()  # (bus/gcpause.py) every item stays: collections would traverse them all
    try:
        async with contextlib.aclosing(store.watch(resource, namespace)) as events:
            async for event in events:
                if event.type == "BOOKMARK":
                    revision = event.revision
                    break
                obj = event.object
                if labels is not None and not labels.matches(obj["metadata"].get("labels") or {}):
                    continue
                if fields is not None and not matches_fields(obj, fields):
                    continue
                items.append(obj)
    finally:
        resume_gc(paused)
    return items, revision


async def watch_events(
    store: Store,
    resource: str,
    namespace: str | None,
    from_revision: int | None,
) -> AsyncGenerator[WatchEvent, None]:
    """Changes of a resource. Without ``from_revision``: the current objects (ADDED), a
    BOOKMARK with the snapshot's revision, then live changes. With it: every change after it."""
    subject = store.prefix + (f"{resource}.{namespace}.>" if namespace else f"{resource}.>")
    snapshot = from_revision is None
    # Messages are handed over by a callback into a plain queue: ``next_msg`` would create a
    # task and a timeout per message, which dominated the cost of a busy watch.
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    async def deliver(msg: Any) -> None:
        inbox.put_nowait(msg)

    if not snapshot:
        await check_not_compacted(store, resource, int(from_revision or 0))
    try:
        start_rev = await store.revision() if snapshot else from_revision
        if snapshot:
            sub = await store.js.subscribe(
                subject,
                cb=deliver,
                ordered_consumer=True,
                deliver_policy=jsapi.DeliverPolicy.LAST_PER_SUBJECT,
                stream=store.stream,
            )
        else:
            sub = await store.js.subscribe(
                subject,
                cb=deliver,
                ordered_consumer=True,
                config=jsapi.ConsumerConfig(
                    deliver_policy=jsapi.DeliverPolicy.BY_START_SEQUENCE,
                    opt_start_seq=int(from_revision or 0) + 1,
                ),
                stream=store.stream,
            )
    except Exception as err:
        raise translate(err, "watch") from err
    nc = store.bus.nc
    paused = False
    try:
        if snapshot:
            paused = pause_gc()
            latest, listed = await read_snapshot(sub, inbox, int(start_rev or 0), resource)
            paused = resume_gc(paused)
            for subject in list(latest):  # let go of each one as it goes out
                data, seq = latest.pop(subject)
                yield WatchEvent("ADDED", store._decode_msg(data, seq), seq, data)
            yield WatchEvent("BOOKMARK", {}, listed)
            paused = resume_gc(paused)
        quiet_since = time.monotonic()
        tick = min(5.0, store.watch_check_after)
        failed_checks = 0
        while True:
            if inbox.empty():
                if nc.is_closed:
                    raise ServiceUnavailable(f"watch of {resource} ended: the connection is closed")
                try:
                    async with asyncio.timeout(tick):  # a timer, not a task per message
                        msg = await inbox.get()
                except TimeoutError:
                    if time.monotonic() - quiet_since >= store.watch_check_after:
                        failed_checks = await store._check_consumer(sub, resource, failed_checks)
                        quiet_since = time.monotonic()
                    continue
            else:
                msg = inbox.get_nowait()
            quiet_since = time.monotonic()
            yield event_of(store, msg)
    except (nats.errors.ConnectionClosedError, nats.errors.BadSubscriptionError) as err:
        raise ServiceUnavailable(f"watch of {resource} ended: {err}") from err
    finally:
        resume_gc(paused)
        try:
            await sub.unsubscribe()
        except (nats.errors.Error, asyncio.CancelledError):
            pass


async def check_not_compacted(store: Store, resource: str, from_revision: int) -> None:
    """A watch after a revision older than the compacted one could miss deletes: 410 Gone."""
    from bus.compaction import compacted_revision

    try:
        compacted, _ = await compacted_revision(store.bus, store.stream, store.prefix)
    except Exception as err:
        raise translate(err, "watch") from err
    if from_revision < compacted:
        raise Gone(f"too old resource version: {from_revision} ({compacted})")


async def check_consumer(sub: Any, resource: str, failed: int) -> int:
    """A quiet watch asks whether its consumer still exists; the failed checks in a row.

    nats-py recreates an ordered consumer whose heartbeats stop (its server died) but gives up
    for good if that attempt raises, and a push consumer can stall on a lost flow-control
    reply: the watch would then wait forever. A consumer the server no longer knows, one with
    messages pending while the watch heard nothing, or three failed checks in a row end the
    watch (an informer re-lists)."""
    try:
        info = await sub.consumer_info()
    except nats.js.errors.NotFoundError as err:
        raise ServiceUnavailable(f"watch of {resource} ended: its consumer is gone") from err
    except (nats.errors.Error, TimeoutError) as err:
        log.warning("store.watch_check_failed", resource=resource, error=str(err), failed=failed + 1)
        if failed + 1 >= 3:
            raise ServiceUnavailable(f"watch of {resource} ended: its consumer does not answer") from err
        return failed + 1
    if int(info.num_pending or 0) > 0:  # messages wait, yet none came: delivery has stalled
        raise ServiceUnavailable(
            f"watch of {resource} ended: {info.num_pending} messages pending but none delivered"
        )
    return 0


def event_of(store: Store, msg: Any) -> WatchEvent:
    """The watch event a delivered message of the bucket is."""
    seq = sequences(msg)[0]
    headers = msg.headers or {}
    if is_tombstone(headers):
        obj = (
            store._decode_msg(msg.data, seq, deleted=True)
            if msg.data
            else _stub_from_subject(msg.subject, store.prefix)
        )
        obj["metadata"]["resourceVersion"] = str(seq)
        return WatchEvent("DELETED", obj, seq)
    op = headers.get(OP_HEADER)
    kind = "ADDED" if op == "create" else "MODIFIED"
    return WatchEvent(kind, store._decode_msg(msg.data, seq), seq, msg.data)


async def last_per_subject(bus: Bus, stream: str, subject: str) -> dict[str, tuple[bytes, int]]:
    """The last live value and revision of every subject under ``subject`` in ``stream`` (a KV
    bucket's stream, say), read as a list is: a key written while it is read is not missed."""
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    async def deliver(msg: Any) -> None:
        inbox.put_nowait(msg)

    try:
        sub = await bus.js.subscribe(
            subject,
            cb=deliver,
            ordered_consumer=True,
            deliver_policy=jsapi.DeliverPolicy.LAST_PER_SUBJECT,
            stream=stream,
        )
    except Exception as err:
        raise translate(err, "list") from err
    try:
        latest, _listed = await read_snapshot(sub, inbox, 0, subject)
        return latest
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


def _stub_from_subject(subject: str, prefix: str) -> dict[str, Any]:
    from bus.keys import parse_key

    _resource, ns, name = parse_key(subject[len(prefix) :])
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"metadata": meta}
