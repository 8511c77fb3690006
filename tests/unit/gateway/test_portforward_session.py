"""The gateway's port-forward session (actors/gateway/portforward.py) driven with SPDY frames as
kubectl sends them, over a stand-in WebSocket, with a stand-in relay in place of the kubelet's (the
real path is tests/e2e/gateway/test_port_forward.py)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiohttp import WSMessage, WSMsgType, web

from actors.gateway import spdy
from actors.gateway.portforward import PortForwardSession
from bus.connection import Bus
from schemas.errors import ServiceUnavailable
from tests.waiting import wait_for

POD = {"namespace": "default", "pod": "web", "uid": "u-1"}


class FakeWebSocket:
    def __init__(self) -> None:
        self.incoming: asyncio.Queue[WSMessage | None] = asyncio.Queue()
        self.sent = spdy.FrameReader()
        self.frames: list[spdy.Frame] = []
        self.closed = False

    def __aiter__(self) -> AsyncIterator[WSMessage]:
        return self

    async def __anext__(self) -> WSMessage:
        msg = await self.incoming.get()
        if msg is None:
            raise StopAsyncIteration
        return msg

    async def send_bytes(self, data: bytes) -> None:
        self.frames += self.sent.feed(data)

    async def close(self, **_: Any) -> bool:
        self.closed = True
        return True

    def client_sends(self, data: bytes) -> None:
        self.incoming.put_nowait(WSMessage(WSMsgType.BINARY, data, None))


class Client:
    """kubectl's side: streams as client-go opens them (error first, half-closed; then data)."""

    def __init__(self, ws: FakeWebSocket) -> None:
        self.ws = ws
        self.deflate = spdy.HeaderCompressor()

    def open(self, stream_id: int, kind: str, port: str, request_id: str, fin: bool = False) -> None:
        headers = {"streamType": [kind], "port": [port], "requestID": [request_id]}
        flags = spdy.FLAG_FIN if fin else 0
        self.ws.client_sends(spdy.syn_stream(stream_id, self.deflate.compress(headers), flags=flags))

    def open_pair(self, request_id: str, error_id: int, data_id: int, port: str = "80") -> None:
        self.open(error_id, "error", port, request_id)
        self.ws.client_sends(spdy.encode_data(error_id, b"", fin=True))  # errorStream.Close()
        self.open(data_id, "data", port, request_id)


def data_of(frames: list[spdy.Frame], stream_id: int) -> tuple[bytes, bool]:
    got = [f for f in frames if isinstance(f, spdy.DataFrame) and f.stream_id == stream_id]
    return b"".join(f.data for f in got), any(f.fin for f in got)


def controls(frames: list[spdy.Frame], type_: int) -> list[spdy.ControlFrame]:
    return [f for f in frames if isinstance(f, spdy.ControlFrame) and f.type == type_]


async def upper_echo(
    bus: Any, node: str, payload: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """A stand-in kubelet relay: answers what it reads, upper-cased, until the client's eof."""
    writer.write(f"{node} {payload['pod']} {payload['uid']} {payload['port']}:".encode())
    while data := await reader.read(1024):
        writer.write(data.upper())
        await writer.drain()
    writer.write_eof()
    writer.close()


@pytest.fixture
async def session() -> AsyncIterator[tuple[FakeWebSocket, Client, asyncio.Task[None]]]:
    ws = FakeWebSocket()
    relays: dict[str, Any] = {"relay": upper_echo}

    async def relay(*args: Any) -> None:
        await relays["relay"](*args)

    s = PortForwardSession(
        cast(web.WebSocketResponse, ws),
        cast(Bus, None),
        "node-1",
        POD,
        relay=relay,
        reset_grace=0.1,
        pair_timeout=0.5,
    )
    task = asyncio.create_task(s.run(), name="test-session")
    ws.relays = relays  # type: ignore[attr-defined]
    try:
        yield ws, Client(ws), task
    finally:
        ws.incoming.put_nowait(None)
        await asyncio.wait_for(task, 10)


async def test_a_pair_relays_both_ways_and_closes_both_streams(session: Any) -> None:
    ws, client, _ = session
    client.open_pair("0", 1, 3)
    ws.client_sends(spdy.encode_data(3, b"hello "))
    ws.client_sends(spdy.encode_data(3, b"world", fin=True))

    async def closed() -> bool:
        return data_of(ws.frames, 1)[1] and data_of(ws.frames, 3)[1]

    await wait_for(closed, 10, what="both streams closed by the gateway")
    replies = controls(ws.frames, spdy.SYN_REPLY)
    assert [struct.unpack_from(">I", r.payload)[0] for r in replies] == [1, 3]
    assert data_of(ws.frames, 3) == (b"node-1 web u-1 80:HELLO WORLD", True)
    assert data_of(ws.frames, 1) == (b"", True)  # no error
    inflate = spdy.HeaderDecompressor()
    assert [inflate.decompress(r.payload[4:]) for r in replies] == [{}, {}]


async def test_pings_are_echoed_and_pairs_run_concurrently(session: Any) -> None:
    ws, client, _ = session
    ws.client_sends(spdy.ping(1))
    client.open_pair("0", 1, 3)
    client.open_pair("1", 5, 7, port="8081")
    ws.client_sends(spdy.encode_data(7, b"second", fin=True))  # the later pair finishes first

    async def second_done() -> bool:
        return data_of(ws.frames, 7)[1]

    await wait_for(second_done, 10, what="the second pair's answer")
    assert data_of(ws.frames, 7)[0] == b"node-1 web u-1 8081:SECOND"
    assert data_of(ws.frames, 3) == (b"node-1 web u-1 80:", False)  # still open
    assert [spdy.parse_ping(p) for p in controls(ws.frames, spdy.PING)] == [1]
    ws.client_sends(spdy.encode_data(3, b"first", fin=True))

    async def first_done() -> bool:
        return data_of(ws.frames, 3)[1]

    await wait_for(first_done, 10, what="the first pair's answer")


async def test_the_kubelets_error_goes_on_the_error_stream(session: Any) -> None:
    ws, client, _ = session

    async def refused(*_: Any) -> None:
        raise ServiceUnavailable("error forwarding port 81 to pod default/web: failed to connect")

    ws.relays["relay"] = refused
    client.open_pair("0", 1, 3, port="81")
    client.open_pair("1", 5, 7, port="http")

    async def closed() -> bool:
        return all(data_of(ws.frames, i)[1] for i in (1, 3, 5, 7))

    await wait_for(closed, 10, what="the streams closed")
    assert data_of(ws.frames, 1) == (b"error forwarding port 81 to pod default/web: failed to connect", True)
    assert data_of(ws.frames, 3) == (b"", True)
    assert data_of(ws.frames, 5)[0] == b'invalid port "http": must be between 1 and 65535, inclusive'


async def test_a_reset_data_stream_ends_a_relay_that_would_wait_forever(session: Any) -> None:
    ws, client, _ = session

    async def stuck(bus: Any, node: str, payload: Any, reader: Any, writer: Any) -> None:
        writer.write(b"hi")
        await asyncio.Event().wait()

    ws.relays["relay"] = stuck
    client.open_pair("0", 1, 3)

    async def greeted() -> bool:
        return data_of(ws.frames, 3)[0] == b"hi"

    await wait_for(greeted, 10, what="the relay's first bytes")
    ws.client_sends(spdy.rst_stream(3, spdy.CANCEL))

    async def error_closed() -> bool:
        return data_of(ws.frames, 1)[1]

    await wait_for(error_closed, 10, what="the error stream closed after the reset")
    assert data_of(ws.frames, 3) == (b"hi", False)  # nothing more on a reset stream, not even FIN


async def test_streams_without_a_known_type_are_reset(session: Any) -> None:
    ws, client, _ = session
    client.open(1, "stdin", "80", "0")
    client.open(5, "data", "80", "0")
    client.open(3, "error", "80", "0")  # an id below the last one

    async def resets() -> bool:
        return len(controls(ws.frames, spdy.RST_STREAM)) == 2

    await wait_for(resets, 10, what="two RST_STREAMs")
    got = [spdy.parse_rst_stream(f) for f in controls(ws.frames, spdy.RST_STREAM)]
    assert got == [(1, spdy.PROTOCOL_ERROR), (3, spdy.PROTOCOL_ERROR)]


async def test_bytes_that_are_not_spdy3_end_the_session_with_goaway(session: Any) -> None:
    ws, _, task = session
    ws.client_sends(bytes.fromhex("80020006 00000004 00000001"))
    await asyncio.wait_for(task, 10)
    assert [spdy.parse_goaway(f) for f in controls(ws.frames, spdy.GOAWAY)] == [(0, spdy.PROTOCOL_ERROR)]
    assert ws.closed


async def test_a_stream_whose_partner_never_comes_is_reset(session: Any) -> None:
    ws, client, _ = session
    client.open(1, "error", "80", "0")

    async def reset() -> bool:
        return bool(controls(ws.frames, spdy.RST_STREAM))

    await wait_for(reset, 10, what="the lonely stream reset")
    assert [spdy.parse_rst_stream(f) for f in controls(ws.frames, spdy.RST_STREAM)] == [(1, spdy.CANCEL)]
    client.open(3, "data", "80", "0")  # too late: a new pair of its own, which waits again
    ws.client_sends(spdy.encode_data(3, b"x", fin=True))

    async def reset_again() -> bool:
        return len(controls(ws.frames, spdy.RST_STREAM)) == 2

    await wait_for(reset_again, 10, what="the late stream reset too")
    assert not [f for f in ws.frames if isinstance(f, spdy.DataFrame)]
