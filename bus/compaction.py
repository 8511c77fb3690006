"""Compaction of the state log: delete markers older than a retention are purged, as etcd compacts.

A delete leaves a tombstone (bus/store.py) holding the object's last state, so that watchers get a
DELETED event with the object. Without compaction they pile up for ever: with Job and CronJob churn
the bucket grows with history, not with the live objects, and every list reads them all.

:func:`compact` reads the last message of every key, headers only (a marker's age is its message
time), and purges each key whose last message is a tombstone older than ``retention`` seconds.
Each purge is bounded by the tombstone's own sequence (``seq`` = tombstone + 1), so a key written
again meanwhile keeps its new value. Before purging, the highest purged revision is recorded in
the bucket under :data:`COMPACTION_KEY` (compare-and-set, never lowered). A watch that asks for
the changes after a revision below it could miss a delete and gets
:class:`~schemas.errors.Gone` (``410 Expired``, ``too old resource version``), as from etcd;
informers then re-list.

Every api replica may run it (actors/api/compactor.py): purges are idempotent. The retention is
minutes (``JETKUBE_TOMBSTONE_RETENTION`` seconds, default 300): a watcher disconnected for longer
re-lists, one away for less resumes.

:func:`expired` is the pure decision, tested as a table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors
import structlog
from nats.js import api as jsapi

from bus.codec import decode, encode
from bus.connection import Bus
from bus.pipeline import is_wrong_last_sequence
from bus.snapshot import is_tombstone

log = structlog.get_logger(__name__)

COMPACTION_KEY = "_compaction._.revision"  # no resource is named so: lists and watches never see it
DEFAULT_RETENTION = 300.0
RETENTION_ENV = "JETKUBE_TOMBSTONE_RETENTION"


def retention_from_env(environ: dict[str, str] | os._Environ[str] = os.environ) -> float:
    raw = environ.get(RETENTION_ENV, "")
    if not raw:
        return DEFAULT_RETENTION
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{RETENTION_ENV}: must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{RETENTION_ENV}: must be 0 or more seconds, got {raw!r}")
    return value


@dataclass(frozen=True)
class Marker:
    """The last message of a key: its subject, sequence, time (epoch seconds), and whether it deletes."""

    subject: str
    seq: int
    time: float
    tombstone: bool


@dataclass(frozen=True)
class Compaction:
    purged: int
    revision: int  # the compacted revision after this pass (watches from below it are Gone)
    scanned: int


def expired(markers: Iterable[Marker], now: float, retention: float) -> list[Marker]:
    """The tombstones older than the retention (the keys to purge), oldest first."""
    return sorted((m for m in markers if m.tombstone and now - m.time >= retention), key=lambda m: m.seq)


async def last_markers(bus: Bus, stream: str, subject: str) -> list[Marker]:
    """The last message of every key under ``subject``, headers only (values are never read)."""
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    async def deliver(msg: Any) -> None:
        inbox.put_nowait(msg)

    sub = await bus.js.subscribe(
        subject,
        cb=deliver,
        ordered_consumer=True,
        config=jsapi.ConsumerConfig(deliver_policy=jsapi.DeliverPolicy.LAST_PER_SUBJECT, headers_only=True),
        stream=stream,
    )
    markers: list[Marker] = []
    try:
        info = await sub.consumer_info()
        if int(info.num_pending or 0) == 0:
            return markers
        while True:
            async with asyncio.timeout(30):
                msg = await inbox.get()
            meta = msg.metadata
            markers.append(
                Marker(
                    msg.subject,
                    int(meta.sequence.stream),
                    meta.timestamp.timestamp(),
                    is_tombstone(msg.headers),
                )
            )
            if int(meta.num_pending) == 0:
                return markers
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def compacted_revision(bus: Bus, stream: str, prefix: str) -> tuple[int, int]:
    """The compacted revision recorded in the bucket, and the revision of that record (0, 0: none)."""
    try:
        msg = await bus.js.get_last_msg(stream, prefix + COMPACTION_KEY, direct=True)
    except nats.js.errors.NotFoundError:
        return 0, 0
    data = decode(msg.data) if msg.data else {}
    return int((data or {}).get("revision") or 0), int(msg.seq or 0)


async def _record(bus: Bus, prefix: str, stream: str, revision: int) -> int:
    """Raise the recorded compacted revision to ``revision`` (compare-and-set; never lowered)."""
    for _ in range(5):
        current, record_seq = await compacted_revision(bus, stream, prefix)
        if current >= revision:
            return current
        try:
            await bus.js.publish(
                prefix + COMPACTION_KEY,
                encode({"revision": revision}),
                stream=stream,
                headers={"Nats-Expected-Last-Subject-Sequence": str(record_seq)},
            )
            return revision
        except nats.js.errors.APIError as err:
            if not is_wrong_last_sequence({"err_code": err.err_code, "description": err.description}):
                raise
    raise RuntimeError("could not record the compacted revision: it kept changing")


async def purge(bus: Bus, stream: str, prefix: str, doomed: list[Marker]) -> int:
    """Purge each marker's key up to and including the marker (a key written since keeps its new
    value); the compacted revision is recorded first. Returns it."""
    revision = await _record(bus, prefix, stream, max(m.seq for m in doomed))  # before anything goes
    for marker in doomed:
        await bus.js.purge_stream(stream, subject=marker.subject, seq=marker.seq + 1)
    return revision


async def compact(
    bus: Bus, stream: str, prefix: str, retention: float, now: float | None = None
) -> Compaction:
    """One pass: purge the keys whose tombstone is older than ``retention`` seconds."""
    markers = [
        m for m in await last_markers(bus, stream, prefix + ">") if not m.subject.endswith(COMPACTION_KEY)
    ]
    doomed = expired(markers, time.time() if now is None else now, retention)
    if not doomed:
        current, _ = await compacted_revision(bus, stream, prefix)
        return Compaction(0, current, len(markers))
    revision = await purge(bus, stream, prefix, doomed)
    log.info("store.compacted", purged=len(doomed), revision=revision, keys=len(markers))
    return Compaction(len(doomed), revision, len(markers))
