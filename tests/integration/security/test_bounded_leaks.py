"""Hole 9: requests that time out and event acks that never come leave nothing behind (the reply
map once kept them until 100,000 had piled up; the event recorder kept them for ever)."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg

from bus.codec import encode
from bus.connection import Bus
from bus.events import EventRecorder
from bus.pipeline import pipeline_for, replies_for
from bus.rpc import request
from schemas.errors import Timeout
from tests.waiting import wait_for


async def test_timed_out_requests_leave_the_reply_map(bus: Bus) -> None:
    await bus.nc.subscribe("silent.service")  # someone listens, nobody answers
    for _ in range(20):
        with pytest.raises(Timeout):
            await request(bus, "silent.service", {}, timeout=0.05)
    assert replies_for(bus.nc).outstanding == 0

    # positive control: a request answered in time still gets its reply
    async def echo(msg: Msg) -> None:
        await msg.respond(encode({"object": 1}))

    await bus.nc.subscribe("echo.service", cb=echo)
    assert await request(bus, "echo.service", {}, timeout=5) == 1


async def test_event_acks_that_never_come_are_given_up(bus: Bus) -> None:
    # no events stream, but a subscriber on the subjects: nothing acknowledges, nothing refuses
    await bus.nc.subscribe("jetkube.events.>")
    recorder = EventRecorder(bus, "test", ack_timeout=0.2)
    obj = {"kind": "Pod", "metadata": {"name": "p", "namespace": "default", "uid": "u"}}
    for i in range(10):
        await recorder.record(obj, "Normal", "Tested", f"event {i}")
    assert recorder.pending > 0

    async def all_given_up() -> bool:
        return recorder.pending == 0 and pipeline_for(bus.nc).outstanding == 0

    await wait_for(all_given_up, timeout=10, what="the unacknowledged events to be given up")
