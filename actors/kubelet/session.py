"""The kubelet's side of interactive exec and attach sessions (session_protocol.py has the wire
protocol; session_client.py the other side).

:func:`open_session` serves one ``exec`` request with a ``stream`` (or an ``attach`` request):
it starts the engine's exec or attach (docker_session.py), subscribes to the session's inbox,
replies ``{"inbox": ...}`` and leaves the relay to a task of the kubelet server's task group
(stopping the server ends its sessions). The relay is three agents:

* ``reader``: the engine's output into a bounded queue (``QUEUE_FRAMES`` pieces of at most
  ``PIECE_BYTES``; when it is full
  the engine's connection is no longer read, which slows the process's writes);
* ``sender``: that queue to the client as chunks (what is queued, joined, up to
  ``MAX_CHUNK_BYTES``; a heartbeat when quiet), then the exit code or the end;
* ``receiver``: the client's chunks to the engine (stdin, its close, resizes), each acknowledged
  once written, so the client never has more than one chunk of input in flight.

The session ends when the sender has sent its last chunk, when the client detaches or goes
(PeerGone), or on a protocol error; the engine's stream is then closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from nats.aio.msg import Msg

from actors.kubelet.session_protocol import (
    MAX_CHUNK_BYTES,
    PIECE_BYTES,
    SessionOptions,
    check_seq,
    coalesce,
    split_frame,
    terminal_size,
)
from bus.auth import node_subject, requester_of
from bus.cancelsafe import wait_for
from bus.chunkstream import ACK_TIMEOUT, HEARTBEAT_SECONDS, ChunkReceiver, PeerGone, send_chunk, silence_limit
from bus.connection import Bus
from schemas.errors import BadRequest, InternalError, JetkubeError, ServiceUnavailable

log = structlog.get_logger(__name__)

QUEUE_FRAMES = 32  # of at most PIECE_BYTES each: 1 MiB


@dataclass(frozen=True)
class SessionSettings:
    heartbeat: float = HEARTBEAT_SECONDS
    ack_timeout: float = ACK_TIMEOUT
    max_bytes: int = MAX_CHUNK_BYTES

    @property
    def silence_limit(self) -> float:
        return silence_limit(self.heartbeat, self.ack_timeout)


class Sender:
    """Numbered chunks to one inbox, one at a time (callers serialize: one task sends)."""

    def __init__(self, bus: Bus, inbox: str, ack_timeout: float) -> None:
        self.bus = bus
        self.inbox = inbox
        self.ack_timeout = ack_timeout
        self.seq = 0

    async def send(self, body: dict[str, Any]) -> None:
        body = {**body, "seq": self.seq}
        self.seq += 1
        await send_chunk(self.bus, self.inbox, body, self.ack_timeout)


class Receiver:
    """A ChunkReceiver that checks each chunk's ``seq`` and, with auth on, who sent it."""

    def __init__(self, bus: Bus, *, what: str, subject: str | None = None, sender: str | None = None) -> None:
        self.rx = ChunkReceiver(bus, what=what, subject=subject)
        self.what = what
        self.expected = 0
        self.sender = sender  # the NATS user allowed to send here (None: anyone, auth off)

    @property
    def inbox(self) -> str:
        return self.rx.inbox

    async def open(self) -> None:
        await self.rx.open()

    async def close(self) -> None:
        await self.rx.close()

    async def receive(self, limit: float) -> tuple[dict[str, Any], Msg]:
        """The next chunk's body, and its message (for the ack)."""
        while True:
            chunk = await self.rx.receive(limit)
            if self.sender is not None and requester_of(chunk.msg.reply) != self.sender:
                log.warning("session.foreign_chunk", inbox=self.inbox, sender=requester_of(chunk.msg.reply))
                continue  # not acknowledged: the stranger gets a timeout, the session goes on
            self.expected = check_seq(chunk.body, self.expected, self.what)
            return chunk.body, chunk.msg


async def ack(msg: Msg) -> None:
    with contextlib.suppress(Exception):
        await msg.respond(b"")


@dataclass(frozen=True)
class _End:
    error: JetkubeError | None = None


async def open_session(
    bus: Bus,
    engine: Any,
    options: SessionOptions,
    payload: dict[str, Any],
    requester_msg: Msg,
    node_name: str,
    tasks: asyncio.TaskGroup | None,
    settings: SessionSettings = SessionSettings(),
) -> dict[str, Any]:
    """Relay an opened engine session (docker_session.EngineSession) to the client that asked;
    the reply to its request. Closes ``engine`` on every path that does not hand it to a task."""
    client_inbox = payload.get("stream")
    try:
        if not client_inbox or not isinstance(client_inbox, str):
            raise BadRequest("stream: Required value: an inbox for the session's output")
        if tasks is None:
            raise ServiceUnavailable("the kubelet's server is stopping")
        owner = (
            requester_of(getattr(requester_msg, "reply", None)) if getattr(bus, "identity", None) else None
        )
        inbox = node_subject(node_name, f"session.{uuid.uuid4().hex}")
        incoming = Receiver(bus, what="session chunk", subject=inbox, sender=owner)
        await incoming.open()
    except BaseException:
        await engine.close()
        raise
    where = f"{payload.get('namespace') or 'default'}/{payload.get('pod')}"

    async def run() -> None:
        try:
            await relay(
                bus, engine, options, incoming, Sender(bus, client_inbox, settings.ack_timeout), settings
            )
            log.debug("session.done", pod=where)
        except (PeerGone, JetkubeError) as err:
            log.debug("session.ended", pod=where, why=str(err))
        except Exception:  # one session's bug must not stop the server's task group
            log.exception("session.failed", pod=where)
        finally:
            await incoming.close()
            await engine.close()

    tasks.create_task(run(), name=f"session-{inbox.rsplit('.', 1)[-1][:12]}")
    log.debug(
        "session.open", pod=where, exec=options.command is not None, stdin=options.stdin, tty=options.tty
    )
    return {"inbox": inbox}


async def relay(
    bus: Bus,
    engine: Any,
    options: SessionOptions,
    incoming: Receiver,
    out: Sender,
    settings: SessionSettings = SessionSettings(),
) -> None:
    queue: asyncio.Queue[tuple[int, bytes] | _End] = asyncio.Queue(maxsize=QUEUE_FRAMES)

    async def reader() -> None:
        end = _End()
        try:
            while (frame := await engine.read()) is not None:
                for piece in split_frame(frame[0], frame[1], PIECE_BYTES):
                    await queue.put(piece)
        except JetkubeError as err:
            end = _End(err)
        await queue.put(end)

    async def sender() -> None:
        carry: tuple[int, bytes] | _End | None = None  # the frame that did not fit the last chunk
        while True:
            item: tuple[int, bytes] | _End | None = carry
            carry = None
            if item is None:
                try:
                    item = await wait_for(queue.get(), settings.heartbeat)
                except TimeoutError:
                    await out.send({})
                    continue
            frames: list[tuple[int, bytes]] = []
            size = 0
            while isinstance(item, tuple):  # what is queued already goes in this chunk
                frames.append(item)
                size += len(item[1])
                if queue.empty():
                    item = None
                    break
                item = queue.get_nowait()
                if isinstance(item, tuple) and size + len(item[1]) > settings.max_bytes:
                    carry, item = item, None
            if frames:
                await out.send({"frames": coalesce(frames)})
            if isinstance(item, _End):
                if item.error is not None:
                    await out.send({"error": item.error.to_status()})
                elif options.command is not None:
                    try:
                        code = await engine.exit_code()
                    except JetkubeError as err:
                        await out.send({"error": err.to_status()})
                        return
                    await out.send({"exit": code if code is not None else 0})
                else:
                    await out.send({"eof": True})
                return

    async def receiver() -> None:
        taking_input = options.stdin
        while True:
            body, msg = await incoming.receive(settings.silence_limit)
            if body.get("detach"):
                await ack(msg)
                raise PeerGone("the client detached")
            if "stdin" in body and not isinstance(body["stdin"], bytes):
                raise InternalError("malformed session chunk: stdin must be bytes")
            try:
                if body.get("stdin") and taking_input:
                    await engine.write(body["stdin"])
                if "resize" in body and options.tty:
                    width, height = terminal_size(body["resize"])
                    await engine.resize(width, height)
                if body.get("close") and taking_input:
                    taking_input = False
                    await engine.close_stdin()
            except JetkubeError as err:
                # the process ended under its input (or a resize): the output side reports the
                # end; the rest of the input is dropped
                log.debug("session.input_failed", why=str(err))
                taking_input = False
            await ack(msg)

    async def then_cancel(coro: Any, *others: asyncio.Task[Any]) -> None:
        try:
            await coro
        finally:
            for other in others:
                other.cancel()

    try:
        async with asyncio.TaskGroup() as tg:
            read = tg.create_task(reader(), name=f"session-read-{out.inbox}")
            receive = tg.create_task(receiver(), name=f"session-receive-{out.inbox}")
            tg.create_task(then_cancel(sender(), read, receive), name=f"session-send-{out.inbox}")
    except* (PeerGone, JetkubeError) as group:
        raise group.exceptions[0] from None
