"""The acknowledged-chunk stream (bus/chunkstream.py) on a real nats-server: chunks arrive in order,
the sender waits for each acknowledgement, and each end notices when the other has gone."""

from __future__ import annotations

import asyncio

import pytest

from bus.chunkstream import ChunkReceiver, PeerGone, send_chunk
from bus.connection import Bus
from schemas.errors import InternalError


async def test_chunks_arrive_in_order_and_each_waits_for_its_ack(bus: Bus) -> None:
    async with ChunkReceiver(bus) as rx:
        sent = asyncio.ensure_future(send_chunk(bus, rx.inbox, {"n": 1}, ack_timeout=10))
        first = await rx.receive(10)
        assert first.body == {"n": 1}
        await asyncio.sleep(0)  # the sender is still waiting: nothing acknowledged yet
        assert not sent.done()
        await first.ack()
        await asyncio.wait_for(sent, 10)  # the acknowledgement lets it return
        second = asyncio.ensure_future(send_chunk(bus, rx.inbox, {"n": 2}, ack_timeout=10))
        got = await rx.receive(10)
        await got.ack()
        await asyncio.wait_for(second, 10)
        assert got.body == {"n": 2}


async def test_the_sender_learns_the_receiver_has_gone(bus: Bus) -> None:
    rx = await ChunkReceiver(bus).open()
    await rx.close()
    with pytest.raises(PeerGone):
        await send_chunk(bus, rx.inbox, {"lines": []}, ack_timeout=5)


async def test_an_unacknowledged_chunk_times_out_for_the_sender(bus: Bus) -> None:
    async with ChunkReceiver(bus) as rx:
        with pytest.raises(PeerGone, match="no acknowledgement"):
            await send_chunk(bus, rx.inbox, {"lines": ["x"]}, ack_timeout=0.3)
        assert (await rx.receive(5)).body == {"lines": ["x"]}  # it did arrive: the ack is what lacked


async def test_the_receiver_gives_up_on_a_silent_sender_and_names_a_malformed_chunk(bus: Bus) -> None:
    async with ChunkReceiver(bus, what="test chunk") as rx:
        with pytest.raises(PeerGone, match="nothing heard"):
            await rx.receive(0.2)
        await bus.nc.publish(rx.inbox, b"\x01")  # msgpack 1: not a map
        with pytest.raises(InternalError, match="malformed test chunk"):
            await rx.receive(10)
