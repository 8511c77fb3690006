"""Streaming log lines to a client's inbox: batching, heartbeats, and the end.

The stream is bus/chunkstream.py's acknowledged chunks (flow control, heartbeats, a client that
goes). The client subscribes to an inbox of its own and puts it in the request as ``stream``. The
kubelet answers the request at once (``{"streaming": true}``, or an error), then sends the lines
to the inbox as chunks, each a msgpack map (public; the README's table):

* ``{"lines": ["...", ...]}``: the next lines, in order (no trailing newlines). An empty list is a
  heartbeat, sent after ``heartbeat`` seconds with nothing to say.
* ``{"eof": true}``: the end (the container stopped, or a non-follow read is complete).
* ``{"error": <Status>}``: the end, because reading failed.

A chunk nobody acknowledges stops the stream and closes the engine's log stream.

The pump reads the engine in one task and publishes in another, so a slow client never makes the
engine stream stall for long (a bounded queue in between) and a quiet container still gets its
heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog

from bus.cancelsafe import wait_for
from bus.chunkstream import ACK_TIMEOUT, HEARTBEAT_SECONDS, PeerGone, send_chunk
from bus.connection import Bus
from schemas.errors import InternalError, JetkubeError

log = structlog.get_logger(__name__)

FLUSH_SECONDS = 0.05
MAX_BATCH_LINES = 500
MAX_BATCH_BYTES = 256 * 1024
QUEUE_LINES = 2000


@dataclass(frozen=True)
class _End:
    error: JetkubeError | None = None


@dataclass(frozen=True)
class StreamSettings:
    heartbeat: float = HEARTBEAT_SECONDS
    flush: float = FLUSH_SECONDS
    max_lines: int = MAX_BATCH_LINES
    max_bytes: int = MAX_BATCH_BYTES
    ack_timeout: float = ACK_TIMEOUT


async def pump_lines(
    bus: Bus,
    inbox: str,
    lines: AsyncIterator[str],
    settings: StreamSettings = StreamSettings(),
) -> None:
    """Send ``lines`` to ``inbox`` until they end (then eof) or the client goes (then stop).

    Never raises for the client's or the engine's failures: they end the stream (an engine error
    is sent as ``{"error": ...}``). Cancellation stops it silently."""
    queue: asyncio.Queue[str | _End] = asyncio.Queue(maxsize=QUEUE_LINES)

    async def produce() -> None:
        end = _End()
        try:
            async with contextlib.aclosing(lines) as it:  # type: ignore[type-var]
                async for line in it:
                    await queue.put(line)
        except JetkubeError as err:
            end = _End(err)
        except Exception as err:
            log.exception("logs.stream_read_failed", inbox=inbox)
            end = _End(InternalError(f"reading the logs failed: {type(err).__name__}: {err}"))
        await queue.put(end)

    async def consume() -> None:
        batch: list[str] = []
        size = 0
        started = 0.0
        while True:
            if batch:
                timeout = max(0.0, started + settings.flush - time.monotonic())
            else:
                timeout = settings.heartbeat
            try:
                item = await wait_for(queue.get(), timeout)
            except TimeoutError:
                await send_chunk(bus, inbox, {"lines": batch}, settings.ack_timeout)
                batch, size = [], 0
                continue
            if isinstance(item, _End):
                if batch:
                    await send_chunk(bus, inbox, {"lines": batch}, settings.ack_timeout)
                final = {"eof": True} if item.error is None else {"error": item.error.to_status()}
                await send_chunk(bus, inbox, final, settings.ack_timeout)
                return
            if not batch:
                started = time.monotonic()
            batch.append(item)
            size += len(item) + 8
            if len(batch) >= settings.max_lines or size >= settings.max_bytes:
                await send_chunk(bus, inbox, {"lines": batch}, settings.ack_timeout)
                batch, size = [], 0

    try:
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(produce(), name=f"logs-read-{inbox}")
            tg.create_task(_then_cancel(consume(), reader), name=f"logs-send-{inbox}")
    except* PeerGone as group:
        log.debug("logs.client_gone", inbox=inbox, why=str(group.exceptions[0]))


async def _then_cancel(coro: Any, other: asyncio.Task[Any]) -> None:
    """Run ``coro``; whichever way it ends, the reader is no longer needed."""
    try:
        await coro
    finally:
        other.cancel()
