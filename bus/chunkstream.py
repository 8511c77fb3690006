"""The acknowledged-chunk stream: how a long answer (logs, a watch, a port-forward's bytes) flows
over NATS from a sender to a receiver's inbox.

Protocol (public; the README's subjects table names its users):

* The receiver subscribes to an inbox of its own and names it in its request (``stream``).
* The sender sends chunks to that inbox as NATS *requests*, one at a time, each a msgpack map whose
  keys belong to the user of the stream (``lines``, ``events``, ``data``, ``eof``, ``error``). A
  chunk with nothing in it is a heartbeat, sent after a few seconds with nothing to say.
* The receiver acknowledges each chunk with an empty reply. That is the flow control (one chunk in
  flight) and how the sender learns the receiver has gone: a chunk that nobody answers (no
  responders once the receiver unsubscribed, or no ack within the sender's ``ack_timeout``) ends
  the stream on the sender's side (:class:`PeerGone`).
* A receiver that hears nothing, not even a heartbeat, for its silence limit (by habit
  :func:`silence_limit`: three heartbeats and an ack timeout) takes the sender for gone.

:func:`send_chunk` is the sender; :class:`ChunkReceiver` the receiver. What goes in the chunks, how
they are batched and when the stream ends are the users' (actors/kubelet/server_stream.py,
actors/api/watchstream.py, actors/kubelet/portforward.py, bus/client.py,
actors/kubelet/server_client.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import nats.errors
from nats.aio.msg import Msg

from bus.cancelsafe import wait_for
from bus.codec import decode, encode
from bus.connection import Bus
from schemas.errors import InternalError, ServiceUnavailable

HEARTBEAT_SECONDS = 5.0
ACK_TIMEOUT = 15.0


class PeerGone(Exception):
    """The other end stopped listening or sending (unsubscribed, disconnected, stuck or silent)."""


def silence_limit(heartbeat: float = HEARTBEAT_SECONDS, ack_timeout: float = ACK_TIMEOUT) -> float:
    """How long a receiver waits, hearing nothing, before it takes the sender for gone."""
    return 3 * heartbeat + ack_timeout


async def send_chunk(bus: Bus, inbox: str, chunk: dict[str, Any], ack_timeout: float = ACK_TIMEOUT) -> None:
    """One chunk as a request to the receiver's inbox; PeerGone when nobody acknowledges it."""
    try:
        await bus.nc.request(inbox, encode(chunk), timeout=ack_timeout)
    except nats.errors.NoRespondersError as err:
        raise PeerGone("the receiver unsubscribed") from err
    except nats.errors.TimeoutError as err:
        raise PeerGone(f"no acknowledgement within {ack_timeout:g}s") from err
    except nats.errors.Error as err:
        raise PeerGone(f"cannot reach the receiver: {err}") from err


@dataclass(frozen=True)
class Chunk:
    """A received chunk: its map, and the request to acknowledge once it has been dealt with."""

    body: dict[str, Any]
    msg: Msg

    async def ack(self) -> None:
        with contextlib.suppress(nats.errors.Error):
            await self.msg.respond(b"")


class ChunkReceiver:
    """The receiving end: a subscription to an inbox (a new one unless ``subject`` is given).

    ``async with ChunkReceiver(bus, what="log chunk from node n1") as rx:`` subscribes (a NATS
    failure is ServiceUnavailable); ``rx.inbox`` goes in the request; ``await rx.receive(limit)``
    is the next chunk (PeerGone after ``limit`` seconds of silence, InternalError naming ``what``
    for something that is not a map); the caller acknowledges it with ``await chunk.ack()`` when it
    has been dealt with (after writing it out, for flow control). Leaving unsubscribes, which tells
    the sender the receiver has gone.
    """

    def __init__(self, bus: Bus, *, what: str = "chunk", subject: str | None = None) -> None:
        self.bus = bus
        self.what = what
        self.inbox = subject or bus.nc.new_inbox()
        self._queue: asyncio.Queue[Msg] = asyncio.Queue()
        self._sub: Any = None

    async def _enqueue(self, msg: Msg) -> None:
        await self._queue.put(msg)

    async def open(self) -> ChunkReceiver:
        try:
            self._sub = await self.bus.nc.subscribe(self.inbox, cb=self._enqueue)
        except nats.errors.Error as err:
            raise ServiceUnavailable(f"cannot subscribe at {self.bus.url}: {err}") from err
        return self

    async def close(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()

    async def __aenter__(self) -> ChunkReceiver:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def receive(self, limit: float) -> Chunk:
        try:
            msg = await wait_for(self._queue.get(), limit)
        except TimeoutError:
            raise PeerGone(f"nothing heard for {limit:g}s") from None
        body = decode(msg.data)
        if not isinstance(body, dict):
            raise InternalError(f"malformed {self.what}")
        return Chunk(body, msg)
