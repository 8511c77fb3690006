"""Group commit: concurrent compare-and-set writes to the state bucket share one fsync.

With ``sync_interval: always`` a JetStream server fsyncs every message before acknowledging it,
one after another in the stream's order, so many clients writing at once each wait for their own
fsync and the rate is capped by the disk. etcd batches concurrent writes into one fsync; NATS
(2.12+) offers the same through its *atomic batch publish*: messages carrying
``Nats-Batch-Id``/``Nats-Batch-Sequence`` are staged and stored together when the one with
``Nats-Batch-Commit`` arrives, with one acknowledgement (the last sequence and the count). Each
message keeps its own ``Nats-Expected-Last-Subject-Sequence`` check.

:class:`GroupCommitter` is a database's leader/follower group commit, with no task of its own: a
write that finds fewer than ``max_inflight`` batches in flight sends everything queued (itself
included) at once; the others queue, each waiting on one future that is resolved with its answer
or, when a batch is acknowledged and a slot is free, by its election to send the next batch (the
oldest waiting writer is elected). A lone write is sent as a plain publish. Batches are
all-or-nothing: when one compare-and-set in a batch fails, none is stored and the server does not
say which; the batch is split in halves and each half sent again (a lone write then gets its own
answer), so a conflict costs a few round trips but never a wrong answer. A key is never twice in
one batch (its second write waits for the next one), so each write's expected sequence is checked
against the stored state, as an unbatched write's is. Sequences: a batch is stored contiguously,
so its i-th of n messages has sequence ``last - (n - 1 - i)``.

**Why it is off by default** (``JETKUBE_GROUP_COMMIT=1`` turns it on; measured on nats-server
2.15.1, README "Reliability under faults"): batches do share fsyncs (640 creates, counted with
strace: 645 fsyncs one by one, 80 in batches of 32), but the server answers an atomic batch's
commit 13-19 ms after it arrives whatever its size (a plain publish: 0.13 ms lazy, 0.73 ms
durable). With N writers that caps the rate at about N / 15 ms (about 2,100/s for 32 clients),
below what one fsync per write gives on this machine's disk. At the api (12-07, after the api's
EncryptingStore was made to carry the setting: before, the api never grouped), batches cut the
nats-server's fsyncs from 3.00 to 2.28 per create at 32 clients, yet the rate stayed the same
(220/s grouped, 227/s one by one): for a one-replica file stream the server stages each atomic
batch in a file store of its own, created and deleted around the commit (``newBatchStore``).
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import structlog

from bus.pipeline import WrongLastSequence, pipeline_for
from schemas.errors import JetkubeError, ServiceUnavailable, Timeout

log = structlog.get_logger(__name__)

BATCH_ID = "Nats-Batch-Id"
BATCH_SEQUENCE = "Nats-Batch-Sequence"
BATCH_COMMIT = "Nats-Batch-Commit"
MAX_BATCH = 256  # the server refuses atomic batches above 1,000 messages


@dataclass(eq=False)
class _Write:
    subject: str
    payload: bytes
    headers: dict[str, str]
    fut: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    sent: bool = False
    wake: asyncio.Future[None] | None = None


class GroupCommitter:
    """Sends a connection's state writes in atomic batches; see the module docstring."""

    def __init__(
        self, nc: Any, *, max_inflight: int = 1, max_batch: int = MAX_BATCH, ack_timeout: float = 10.0
    ) -> None:
        self.nc = nc
        self.pipeline = pipeline_for(nc)
        self.max_inflight = max_inflight
        self.max_batch = max_batch
        self.ack_timeout = ack_timeout  # a batch unacknowledged this long fails (Timeout): no hang
        self._queue: deque[_Write] = deque()
        self._retry: deque[list[_Write]] = deque()  # halves of failed batches, sent as they are
        self._inflight = 0
        self.batches = 0  # batches sent (of two or more writes), for tests and figures
        self.batched_writes = 0

    async def write(self, subject: str, payload: bytes, headers: dict[str, str], timeout: float) -> int:
        """The stream sequence of one compare-and-set write (WrongLastSequence when it lost)."""
        item = _Write(subject, payload, headers)
        self._queue.append(item)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                while not item.fut.done():
                    if self._inflight < self.max_inflight and (self._queue or self._retry):
                        await self._send()
                        continue
                    item.wake = loop.create_future()  # answered, or elected to send the next batch
                    await item.wake
                return item.fut.result()
        except TimeoutError:
            self._discard(item)
            raise Timeout("the state store did not acknowledge a write in time") from None
        except asyncio.CancelledError:
            self._discard(item)
            raise

    def _discard(self, item: _Write) -> None:
        """A write given up on: never sent if it was still queued (a sent one's outcome is unknown)."""
        if not item.sent:
            try:
                self._queue.remove(item)
            except ValueError:
                pass
        if not item.fut.done():
            item.fut.cancel()
        self._elect()  # it may have been the one elected to send

    @staticmethod
    def _poke(w: _Write) -> None:
        if w.wake is not None and not w.wake.done():
            w.wake.set_result(None)

    def _elect(self) -> None:
        """Wake one waiting writer to send what is queued, when a slot is free."""
        if self._inflight >= self.max_inflight:
            return
        waiting = [w for g in self._retry for w in g] + list(self._queue)
        for w in waiting:
            if not w.fut.done() and w.wake is not None:
                self._poke(w)
                return

    def _resolve(self, w: _Write, result: int | BaseException) -> None:
        if not w.fut.done():
            if isinstance(result, BaseException):
                w.fut.set_exception(result)
            else:
                w.fut.set_result(result)
        self._poke(w)

    async def _send(self) -> None:
        """Send the halves of failed batches, then one batch of what is queued."""
        while self._retry:
            await self._send_group(self._retry.popleft())
        group: list[_Write] = []
        subjects: set[str] = set()
        held: list[_Write] = []
        while self._queue and len(group) < self.max_batch:
            item = self._queue.popleft()
            if item.fut.done():
                continue  # given up on before it was sent
            if item.subject in subjects:
                held.append(item)  # a key's second write goes in the next batch
                continue
            subjects.add(item.subject)
            group.append(item)
        self._queue.extendleft(reversed(held))
        if group:
            await self._send_group(group)

    async def _send_group(self, group: list[_Write]) -> None:
        group = [w for w in group if not w.fut.done()]
        if not group:
            return
        for w in group:
            w.sent = True
        self._inflight += 1
        try:
            if len(group) == 1:
                w = group[0]
                fut = await self.pipeline.publish(w.subject, w.payload, w.headers)
            else:
                batch = uuid.uuid4().hex
                last = len(group) - 1
                for i, w in enumerate(group[:-1]):
                    headers = {**w.headers, BATCH_ID: batch, BATCH_SEQUENCE: str(i + 1)}
                    await self.nc.publish(w.subject, w.payload, headers=headers)
                w = group[last]
                headers = {**w.headers, BATCH_ID: batch, BATCH_SEQUENCE: str(last + 1), BATCH_COMMIT: "1"}
                fut = await self.pipeline.publish(w.subject, w.payload, headers)
                self.batches += 1
                self.batched_writes += len(group)
        except Exception as err:  # the connection failed mid-batch: without its commit, nothing is stored
            self._inflight -= 1
            for w in group:
                self._resolve(w, ServiceUnavailable(f"the NATS connection failed: {err}"))
            self._elect()
            return
        timer = asyncio.get_running_loop().call_later(self.ack_timeout, fut.cancel)

        def done(f: asyncio.Future[int], g: list[_Write] = group) -> None:
            timer.cancel()
            self._settled(g, f)

        fut.add_done_callback(done)

    def _settled(self, group: list[_Write], fut: asyncio.Future[int]) -> None:
        self._inflight -= 1
        if fut.cancelled():
            err: BaseException | None = Timeout("the state store did not acknowledge a write in time")
        else:
            err = fut.exception()
        if err is None:
            last = fut.result()
            n = len(group)
            for i, w in enumerate(group):
                self._resolve(w, last - (n - 1 - i))
        elif isinstance(err, WrongLastSequence) and len(group) > 1:
            # all or nothing, and the server does not say which one lost: ask again in halves
            half = len(group) // 2
            self._retry.append(group[:half])
            self._retry.append(group[half:])
        else:
            if not isinstance(err, JetkubeError | WrongLastSequence):
                err = Timeout(str(err))
            for w in group:
                self._resolve(w, err)
        self._elect()


async def enable_atomic_batches(js: Any, stream: str) -> bool:
    """Turn on ``allow_atomic`` on the stream (nats-server 2.12+); False when the server cannot."""
    try:
        info = await js.stream_info(stream)
        if info.config.allow_atomic:
            return True
        config = info.config
        config.allow_atomic = True
        await js.update_stream(config)
        return True
    except Exception as err:  # an older server, or no permission: writes go one by one
        log.info("groupcommit.unavailable", stream=stream, error=f"{type(err).__name__}: {err}")
        return False


# one per NATS connection, shared by every Store on it
_BY_CONN: weakref.WeakKeyDictionary[Any, GroupCommitter] = weakref.WeakKeyDictionary()


def committer_for(nc: Any) -> GroupCommitter:
    """The connection's :class:`GroupCommitter`, created on first use."""
    found = _BY_CONN.get(nc)
    if found is None:
        found = _BY_CONN[nc] = GroupCommitter(nc)
    return found
