"""A TCP proxy that cuts connections on command: the nemesis's way to break one client's link to NATS.

``await TcpProxy(target_host, target_port).start()`` listens on an ephemeral port of 127.0.0.1
(``proxy.port``) and pipes every connection to the target. ``cut()`` resets every open connection;
``block()`` also refuses new ones (each accepted connection is closed at once) until ``heal()``.
A client behind it sees what a flaky network gives: a reset, then failed reconnects, then a
connection again. Messages published to it meanwhile are lost, as NATS core messages are.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import structlog

log = structlog.get_logger(__name__)


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self.blocked = False
        self.cuts = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.blocked:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        pair = (writer, up_writer)
        self._writers.update(pair)
        try:
            async with asyncio.TaskGroup() as group:  # structured: both pipes end with the handler
                group.create_task(self._pipe(reader, up_writer, pair))
                group.create_task(self._pipe(up_reader, writer, pair))
        finally:
            for w in pair:
                self._writers.discard(w)
                _reset(w)

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair: tuple[asyncio.StreamWriter, ...]
    ) -> None:
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
        finally:
            for w in pair:  # one side ended: so does the other
                _reset(w)

    def cut(self) -> None:
        """Reset every open connection (new ones are accepted unless blocked)."""
        self.cuts += 1
        for writer in list(self._writers):
            _reset(writer)
        log.info("tcpproxy.cut", port=self.port, target=f"{self.target[0]}:{self.target[1]}")

    def block(self) -> None:
        """Cut, and refuse new connections until :meth:`heal`."""
        self.blocked = True
        self.cut()

    def heal(self) -> None:
        self.blocked = False

    async def stop(self) -> None:
        self.block()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a broken network does, rather than a polite FIN."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(Exception):
        writer.transport.abort()
