"""The client's side of an interactive exec or attach session (the gateway's, the CLI's).

    async with open_session(bus, node, "exec", {namespace, pod, uid, container, command, stdin,
                                                 stdout, stderr, tty}) as s:
        await s.write(b"ls\\n"); await s.resize(80, 24); await s.close_stdin()
        async for fd, data in s.output(): ...      # until the end
        s.exit_code                                 # the exec's code (None for attach)

The kubelet's errors (no such pod, a stopped container) are raised by ``open_session``; a failure
during the session by ``output()``. Input goes through a bounded queue (``QUEUE_ITEMS``) drained
by one sender task, one acknowledged chunk at a time: ``write`` waits when the kubelet (or the
process) is slower than the input. Leaving the ``async with`` tells the kubelet to stop (a
``detach`` chunk, then unsubscribing).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from actors.kubelet.session import Receiver, Sender, SessionSettings, ack
from actors.kubelet.session_protocol import MAX_CHUNK_BYTES, PIECE_BYTES, output_frames
from actors.runtime.supervisor import guarded_task
from bus.auth import node_subject
from bus.cancelsafe import wait_for
from bus.chunkstream import PeerGone
from bus.connection import Bus
from bus.rpc import request
from schemas.errors import InternalError, ServiceUnavailable, from_status

REQUEST_TIMEOUT = 15.0
QUEUE_ITEMS = 16  # of at most PIECE_BYTES of input each


class Session:
    def __init__(self, bus: Bus, node: str, incoming: Receiver, settings: SessionSettings) -> None:
        self.bus = bus
        self.node = node
        self.incoming = incoming
        self.settings = settings
        self.exit_code: int | None = None
        self._outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_ITEMS)
        self._sender: Sender | None = None
        self._task: asyncio.Task[None] | None = None
        self._send_error: BaseException | None = None
        self._ended = False  # the kubelet sent its last chunk: nothing to tell it at the close

    def _start(self, peer: str) -> None:
        self._sender = Sender(self.bus, peer, self.settings.ack_timeout)
        self._task = guarded_task(f"session-input-{peer.rsplit('.', 1)[-1][:12]}", self._send_input())

    async def _send_input(self) -> None:
        assert self._sender is not None
        held: dict[str, Any] | None = None  # the item that could not join the last chunk
        try:
            while True:
                if held is not None:
                    body, held = held, None
                else:
                    try:
                        body = await wait_for(self._outgoing.get(), self.settings.heartbeat)
                    except TimeoutError:
                        body = {}
                if "stdin" in body:  # join the input already queued behind it
                    data = bytearray(body["stdin"])
                    while not self._outgoing.empty() and len(data) < MAX_CHUNK_BYTES:
                        nxt = self._outgoing.get_nowait()
                        if set(nxt) != {"stdin"} or len(data) + len(nxt["stdin"]) > MAX_CHUNK_BYTES:
                            held = nxt
                            break
                        data += nxt["stdin"]
                    body = {"stdin": bytes(data)}
                await self._sender.send(body)
                if body.get("detach"):
                    return
        except PeerGone as err:
            self._send_error = err

    async def _put(self, body: dict[str, Any]) -> None:
        if self._send_error is not None:
            raise ServiceUnavailable(
                f"lost the session with the kubelet of node {self.node}: {self._send_error}"
            )
        await self._outgoing.put(body)

    async def write(self, data: bytes) -> None:
        for i in range(0, len(data), PIECE_BYTES):
            await self._put({"stdin": bytes(data[i : i + PIECE_BYTES])})

    async def close_stdin(self) -> None:
        await self._put({"close": True})

    async def resize(self, width: int, height: int) -> None:
        await self._put({"resize": {"width": width, "height": height}})

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """The process's output until its end; ServiceUnavailable when the kubelet goes silent,
        the kubelet's error when the session fails."""
        while True:
            try:
                body, msg = await self.incoming.receive(self.settings.silence_limit)
            except PeerGone:
                raise ServiceUnavailable(
                    f"the kubelet of node {self.node} stopped the session "
                    f"(nothing for {self.settings.silence_limit:g}s)"
                ) from None
            frames = output_frames(body)
            for frame in frames:
                yield frame
            await ack(msg)  # after the caller dealt with the frames: flow control
            if "exit" in body:
                self._ended = True
                code = body["exit"]
                if type(code) is not int:
                    raise InternalError(f"malformed session end from node {self.node}: exit {code!r}")
                self.exit_code = code
                return
            if body.get("eof"):
                self._ended = True
                return
            if "error" in body:
                self._ended = True
                raise from_status(body["error"])

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            if self._send_error is None and not self._ended and not task.done():
                with contextlib.suppress(asyncio.QueueFull):
                    # tell the kubelet at once; a full queue means it hears of it by silence
                    self._outgoing.put_nowait({"detach": True})
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await wait_for(asyncio.shield(task), 2)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.incoming.close()


@contextlib.asynccontextmanager
async def open_session(
    bus: Bus,
    node: str,
    verb: str,
    payload: dict[str, Any],
    settings: SessionSettings = SessionSettings(),
) -> AsyncIterator[Session]:
    """``verb`` is ``exec`` (the payload has a command) or ``attach``."""
    incoming = Receiver(bus, what=f"session chunk from node {node}")
    await incoming.open()
    session = Session(bus, node, incoming, settings)
    try:
        reply = await request(
            bus, node_subject(node, verb), {**payload, "stream": incoming.inbox}, timeout=REQUEST_TIMEOUT
        )
        peer = (reply or {}).get("inbox")
        if not peer or not isinstance(peer, str):
            raise InternalError(f"malformed session reply from node {node}")
        session._start(peer)
        yield session
    finally:
        await session.close()
