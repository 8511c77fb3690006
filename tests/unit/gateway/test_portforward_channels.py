"""``v4.channel.k8s.io`` port-forward (the official clients'), actors/gateway/portforward.py: the
framing as pure functions, then a ``ChannelSession`` over a stand-in WebSocket and relay (the real
path, with the Python ``kubernetes`` client, is tests/e2e/gateway/test_port_forward.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiohttp import WSMessage, WSMsgType, web

from actors.gateway.portforward import ChannelSession, channel_greetings, channel_message, parse_ports
from bus.connection import Bus
from schemas.errors import BadRequest, ServiceUnavailable
from tests.waiting import wait_for

POD = {"namespace": "default", "pod": "web", "uid": "u-1"}


def test_ports_from_the_query() -> None:
    assert parse_ports(["80"]) == [80]
    assert parse_ports(["80,8081", "9000"]) == [80, 8081, 9000]
    with pytest.raises(BadRequest, match='query parameter "ports" is required'):
        parse_ports([])
    with pytest.raises(BadRequest, match='invalid port "0": must be between 1 and 65535'):
        parse_ports(["0"])
    with pytest.raises(BadRequest, match='invalid port "http"'):
        parse_ports(["80,http"])


def test_greetings_name_each_channels_port_little_endian() -> None:
    assert channel_greetings([80, 8081]) == [
        b"\x00\x50\x00",
        b"\x01\x50\x00",
        b"\x02\x91\x1f",  # 8081 = 0x1f91
        b"\x03\x91\x1f",
    ]


def test_client_messages_on_data_channels_only() -> None:
    assert channel_message(b"\x00GET /", 1) == (0, b"GET /")
    assert channel_message(b"\x02xy", 2) == (1, b"xy")
    assert channel_message(b"\x01oops", 2) is None  # an error channel: the server's to write
    assert channel_message(b"\x04xy", 2) is None  # no third port
    assert channel_message(b"", 2) is None


class FakeWebSocket:
    def __init__(self) -> None:
        self.incoming: asyncio.Queue[WSMessage | None] = asyncio.Queue()
        self.sent: list[bytes] = []
        self.closed = False
        self.greetings = 0

    def __aiter__(self) -> AsyncIterator[WSMessage]:
        return self

    async def __anext__(self) -> WSMessage:
        msg = await self.incoming.get()
        if msg is None:
            raise StopAsyncIteration
        return msg

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self, **_: Any) -> bool:
        self.closed = True
        self.incoming.put_nowait(None)
        return True

    def client_sends(self, data: bytes) -> None:
        self.incoming.put_nowait(WSMessage(WSMsgType.BINARY, data, None))

    def on(self, channel: int) -> bytes:
        """Everything sent on ``channel`` after its greeting."""
        return b"".join(m[1:] for m in self.sent[self.greetings :] if m[0] == channel)


async def answer_once(
    bus: Any, node: str, payload: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """A stand-in for the kubelet's relay to an HTTP/1.0 server: reads a request to its blank line,
    answers, ends its side (as the server closing the connection) and waits for the client's end."""
    if payload["port"] == 81:
        raise ServiceUnavailable("error forwarding port 81 to pod default/web: connection refused")
    request = b""
    while b"\r\n\r\n" not in request:
        request += await reader.read(1024)
    writer.write(f"{node} {payload['uid']} {payload['port']}: ".encode() + request.split(b"\r\n")[0])
    await writer.drain()
    writer.write_eof()
    assert await reader.read() == b""
    writer.close()


@pytest.fixture
async def run() -> AsyncIterator[Any]:
    tasks: list[asyncio.Task[None]] = []

    def start(ports: list[int]) -> FakeWebSocket:
        ws = FakeWebSocket()
        ws.greetings = 2 * len(ports)
        s = ChannelSession(
            cast(web.WebSocketResponse, ws), cast(Bus, None), "node-1", POD, ports, relay=answer_once
        )
        tasks.append(asyncio.create_task(s.run(), name="test-channel-session"))
        return ws

    yield start
    for task in tasks:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_each_port_is_relayed_and_the_websocket_closes_when_all_have_ended(run: Any) -> None:
    ws = run([80, 8081])
    ws.client_sends(b"\x02GET /alt HTTP/1.0\r\n\r\n")
    ws.client_sends(b"\x00GET / HTTP/1.0\r")  # split anywhere
    ws.client_sends(b"\x00\n\r\n")

    async def closed() -> bool:
        return ws.closed

    await wait_for(closed, 10, what="the WebSocket closed after both connections ended")
    assert ws.sent[:4] == channel_greetings([80, 8081])
    assert ws.on(0) == b"node-1 u-1 80: GET / HTTP/1.0"
    assert ws.on(2) == b"node-1 u-1 8081: GET /alt HTTP/1.0"
    assert ws.on(1) == ws.on(3) == b""  # no errors


async def test_the_kubelets_error_goes_on_the_ports_error_channel(run: Any) -> None:
    ws = run([81])

    async def closed() -> bool:
        return ws.closed

    await wait_for(closed, 10, what="the WebSocket closed after the refused connection")
    assert ws.on(1) == b"error forwarding port 81 to pod default/web: connection refused"
    assert ws.on(0) == b""


async def test_the_client_closing_ends_the_relays(run: Any) -> None:
    ws = run([80])
    ws.client_sends(b"\x00GET / HTTP/1.0")  # never finished
    ws.incoming.put_nowait(None)  # the client goes away

    async def closed() -> bool:
        return ws.closed

    await wait_for(closed, 10, what="the session ended with the client's WebSocket")
    assert ws.on(0) == b""
