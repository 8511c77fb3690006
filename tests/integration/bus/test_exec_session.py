"""The interactive session protocol (actors/kubelet/session*.py) over a real nats-server, with an
engine stand-in (a ``cat`` that echoes its stdin): input order and its close, resizes, the exit
code, bounded buffers under a slow reader, and a client that leaves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.kubelet.session import SessionSettings, open_session
from actors.kubelet.session_client import open_session as client_session
from actors.kubelet.session_protocol import session_options
from bus.auth import node_subject
from bus.connection import Bus
from bus.rpc import Responder
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio
NODE = "n1"


class Cat:
    """An engine session whose process echoes stdin to stdout and exits 5 at the end of it."""

    def __init__(self) -> None:
        self.out: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue(maxsize=4)
        self.resizes: list[tuple[int, int]] = []
        self.written = 0
        self.closed = False

    async def read(self) -> tuple[int, bytes] | None:
        return await self.out.get()

    async def write(self, data: bytes) -> None:
        self.written += len(data)
        await self.out.put((1, data))  # blocks when nobody reads: the "process" stalls

    async def close_stdin(self) -> None:
        await self.out.put((2, b"stdin closed\n"))
        await self.out.put(None)

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))

    async def exit_code(self) -> int:
        return 5

    async def close(self) -> None:
        self.closed = True


@contextlib.asynccontextmanager
async def kubelet(bus: Bus, engines: list[Cat]) -> AsyncIterator[None]:
    async with asyncio.TaskGroup() as sessions:

        async def handle(verb: str, payload: dict[str, Any], msg: Any) -> Any:
            options = session_options(payload, attach=verb == "attach")
            engine = Cat()
            engines.append(engine)
            return await open_session(bus, engine, options, payload, msg, NODE, sessions, SESSION)

        responder = Responder(bus, node_subject(NODE, "*"), handle, name="test-kubelet")
        task = asyncio.ensure_future(responder.run())
        await asyncio.wait_for(responder.serving.wait(), 10)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


SESSION = SessionSettings(heartbeat=0.5, ack_timeout=5)
REQUEST = {"namespace": "default", "pod": "p", "command": ["cat"], "stdin": True, "tty": True}


async def test_input_resizes_close_and_exit_code(bus: Bus) -> None:
    engines: list[Cat] = []
    async with kubelet(bus, engines), client_session(bus, NODE, "exec", REQUEST, SESSION) as s:
        await s.resize(80, 24)
        for i in range(50):
            await s.write(f"line {i}\n".encode())
        await s.close_stdin()
        got = [frame async for frame in s.output()]
        assert s.exit_code == 5
    out = b"".join(data for fd, data in got if fd == 1)
    assert out == b"".join(f"line {i}\n".encode() for i in range(50))
    assert got[-1] == (2, b"stdin closed\n")
    assert engines[0].resizes == [(80, 24)]

    async def closed() -> bool:
        return engines[0].closed

    await wait_for(closed, 10, "the engine session closed")


async def test_a_slow_reader_bounds_what_is_buffered_and_leaving_stops_the_session(bus: Bus) -> None:
    engines: list[Cat] = []
    async with kubelet(bus, engines):
        async with client_session(bus, NODE, "exec", REQUEST, SESSION) as s:
            writer = asyncio.ensure_future(_write_forever(s))
            try:

                async def stalled() -> bool:  # nobody reads the output: input stops being taken
                    before = engines[0].written
                    await asyncio.sleep(1)
                    return engines[0].written == before and before > 0

                await wait_for(stalled, 30, "the input to stall behind the unread output")
                # what is held is bounded: the engine's queue, the kubelet's, one chunk in flight
                assert engines[0].written < 4 * 1024 * 1024
            finally:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer

        async def closed() -> bool:
            return engines[0].closed

        await wait_for(closed, 30, "the kubelet to stop the session of a client that left")


async def _write_forever(s: Any) -> None:
    while True:
        await s.write(b"y" * 4096)


async def test_errors_come_back_before_the_session(bus: Bus) -> None:
    engines: list[Cat] = []
    async with kubelet(bus, engines):
        with pytest.raises(Exception, match="tty and stderr cannot both be true"):
            async with client_session(bus, NODE, "exec", {**REQUEST, "stderr": True}, SESSION):
                pass
    assert engines == []  # refused before anything started
