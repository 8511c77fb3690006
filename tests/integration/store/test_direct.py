"""The short paths of bus/direct.py and bus/pipeline.py on a real nats-server: direct subscriptions
lose nothing, a write-through leaves nothing behind, replies and refusals come back as errors a
caller can read. They rely on nats-py internals, so these tests are what catches a release that
moves them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bus.codec import decode, encode
from bus.connection import Bus
from bus.direct import subscribe_direct, write_now
from bus.pipeline import replies_for
from bus.rpc import Responder, request
from schemas.errors import ServiceUnavailable, Timeout, TooManyRequests
from tests.unit.runtime.fakes import eventually


async def test_a_direct_subscription_gets_every_message_in_order_without_a_task(
    bus: Bus, nats_url: str
) -> None:
    got: list[bytes] = []
    sub = await subscribe_direct(bus.nc, "direct.t", lambda msg: got.append(msg.data))
    assert sub._wait_for_msgs_task is None  # the handler runs in the read loop, not a task of its own
    sender = await Bus.connect(nats_url)
    try:
        # more than nats-py's 64 MiB pending-bytes limit: a count left growing would drop the rest
        chunk = b"x" * 65536
        for i in range(1100):
            await sender.nc.publish("direct.t", i.to_bytes(4, "big") + chunk)
        await sender.nc.flush()
        await eventually(lambda: len(got) == 1100, timeout=20, what="1,100 messages")
    finally:
        await sender.close()
    assert [int.from_bytes(d[:4], "big") for d in got] == list(range(1100))
    assert sub.pending_bytes == 0


async def test_a_handler_that_raises_does_not_stop_the_subscription(bus: Bus) -> None:
    got: list[bytes] = []

    def handler(msg: Any) -> None:
        if msg.data == b"bad":
            raise ValueError("boom")
        got.append(msg.data)

    await subscribe_direct(bus.nc, "direct.r", handler)
    for data in (b"a", b"bad", b"b"):
        await bus.nc.publish("direct.r", data)
    await eventually(lambda: got == [b"a", b"b"])


async def test_write_now_hands_the_pending_output_to_the_socket(bus: Bus, nats_url: str) -> None:
    receiver = await Bus.connect(nats_url)
    try:
        got: list[bytes] = []
        await subscribe_direct(receiver.nc, "direct.w", lambda msg: got.append(msg.data))
        await receiver.nc.flush()
        await bus.nc.publish("direct.w", b"now")
        write_now(bus.nc)
        assert bus.nc._pending == [] and bus.nc._pending_data_size == 0
        await eventually(lambda: got == [b"now"])
    finally:
        await receiver.close()


async def test_a_request_nobody_serves_is_service_unavailable(bus: Bus) -> None:
    with pytest.raises(ServiceUnavailable, match=r"nothing answers on direct\.none"):
        await request(bus, "direct.none", {})


async def test_a_request_without_a_reply_times_out_naming_the_subject(bus: Bus) -> None:
    await subscribe_direct(bus.nc, "direct.silent", lambda msg: None)
    with pytest.raises(Timeout, match=r"no reply on direct\.silent within 0\.2s"):
        await request(bus, "direct.silent", {}, timeout=0.2)


@dataclass
class SlowApi:
    """A responder with one worker that answers nothing until ``release`` is set, and a client."""

    responder: Responder
    client: Bus
    release: asyncio.Event

    async def fill(self, extra: int) -> list[asyncio.Future[Any]]:
        """One request in the only worker, 64 waiting (the inbox holds concurrency * 64), then
        ``extra`` more: sent one at a time (no retry), so nothing races the worker's first take."""
        mux = replies_for(self.client.nc)
        sent = [await mux.send("direct.api.get", encode({"i": 0}))]
        await eventually(lambda: self.responder._answering == 1, what="the worker busy")
        sent += [await mux.send("direct.api.get", encode({"i": i})) for i in range(1, 65 + extra)]
        await eventually(lambda: self.responder._inbox.full(), what="a full inbox")
        return sent


@pytest.fixture
async def slow_api(bus: Bus, nats_url: str) -> AsyncIterator[SlowApi]:
    release = asyncio.Event()

    async def slow(verb: str, payload: dict[str, Any], msg: Any) -> Any:
        await release.wait()
        return payload["i"]

    responder = Responder(bus, "direct.api.>", slow, concurrency=1)
    serving = asyncio.create_task(responder.run())
    client = await Bus.connect(nats_url)
    try:
        await asyncio.wait_for(responder.serving.wait(), 10)
        yield SlowApi(responder, client, release)
    finally:
        release.set()
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await client.close()


async def test_a_responder_far_behind_refuses_with_too_many_requests(slow_api: SlowApi) -> None:
    calls = await slow_api.fill(5)
    await eventually(lambda: sum(c.done() for c in calls) == 5, what="five refusals")
    slow_api.release.set()
    replies = [decode((await c).data) for c in calls]
    refused = [r["error"] for r in replies if "error" in r]
    answered = [r["object"] for r in replies if "object" in r]
    assert len(refused) == 5 and answered == list(range(65)), replies
    assert {r["code"] for r in refused} == {429}
    assert "requests are waiting; please try again later" in refused[0]["message"]


async def test_a_client_retries_a_429_until_it_is_served(slow_api: SlowApi) -> None:
    calls = [
        asyncio.create_task(request(slow_api.client, "direct.api.get", {"i": i}, timeout=30))
        for i in range(70)
    ]
    # with 65 held (one in the worker, 64 waiting), at least five of the 70 were refused
    await eventually(lambda: slow_api.responder._inbox.full(), what="a full inbox")
    slow_api.release.set()
    assert await asyncio.gather(*calls) == list(range(70))


async def test_a_429_past_the_deadline_is_raised(slow_api: SlowApi) -> None:
    held = await slow_api.fill(0)
    with pytest.raises(TooManyRequests, match="please try again later"):
        await request(slow_api.client, "direct.api.get", {"i": 99}, timeout=0.3)
    slow_api.release.set()
    await asyncio.gather(*held)


async def test_replies_go_to_the_right_waiters_when_many_are_outstanding(bus: Bus, nats_url: str) -> None:
    server = await Bus.connect(nats_url)

    async def echo(msg: Any) -> None:
        await asyncio.sleep(0.001 * (hash(msg.data) % 5))
        await msg.respond(encode({"object": msg.data}))

    await server.nc.subscribe("direct.echo", cb=echo)
    await server.nc.flush()
    try:
        payloads = [{"n": i} for i in range(200)]
        got = await asyncio.gather(*(request(bus, "direct.echo", p) for p in payloads))
    finally:
        await server.close()
    assert got == [encode(p) for p in payloads]


def test_the_embedded_server_runs_with_half_the_cpus(nats_server: Any) -> None:
    import os

    from bus.embedded import server_procs, usable_cpus

    environ = open(f"/proc/{nats_server.process.pid}/environ", "rb").read().split(b"\0")
    assert f"GOMAXPROCS={server_procs(usable_cpus(), os.environ)}".encode() in environ
