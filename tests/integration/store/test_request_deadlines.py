"""Requests carry a deadline: a replica that was stalled drops what its clients gave up on, and a
read with no reply is tried again. A real nats-server; a responder whose worker is held plays the
frozen replica (a GC pause, a paused VM)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.runtime.supervisor import Supervisor
from bus.connection import Bus
from bus.rpc import Responder, past_deadline, request
from schemas.errors import Timeout
from tests.waiting import wait_for


async def test_a_stalled_replica_drops_a_write_its_client_gave_up_on(bus: Bus) -> None:
    resume, frozen = asyncio.Event(), asyncio.Event()
    applied: list[str] = []

    async def handler(verb: str, payload: dict[str, Any], msg: Any) -> Any:
        if payload["name"] == "first":
            frozen.set()
            await resume.wait()  # the replica freezes while it handles this one
        applied.append(payload["name"])
        return {"ok": True}

    responder = Responder(bus, "test.stall.*", handler, concurrency=1)
    sup = Supervisor()
    sup.spawn("responder", responder.run)
    try:
        await wait_for(lambda: _true(responder.serving.is_set()), what="the responder")
        first = asyncio.ensure_future(request(bus, "test.stall.write", {"name": "first"}, timeout=30))
        await asyncio.wait_for(frozen.wait(), 10)
        with pytest.raises(Timeout):  # queued behind the frozen one: the client gives up
            await request(bus, "test.stall.write", {"name": "late"}, timeout=0.5)
        resume.set()  # the replica comes back with its backlog
        await first
        await wait_for(lambda: _true(responder.expired == 1), what="the late write to be dropped")
        assert applied == ["first"]  # never applied after its client was told it failed
    finally:
        await sup.stop()


async def test_a_read_without_a_reply_is_tried_again(bus: Bus) -> None:
    calls: list[int] = []
    never = asyncio.Event()

    async def handler(verb: str, payload: dict[str, Any], msg: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            await never.wait()  # the first attempt hangs, as on a frozen replica
        return {"n": len(calls)}

    responder = Responder(bus, "test.read.*", handler, concurrency=2)
    sup = Supervisor()
    sup.spawn("responder", responder.run)
    try:
        await wait_for(lambda: _true(responder.serving.is_set()), what="the responder")
        assert await request(bus, "test.read.get", {}, timeout=6, retry=True) == {"n": 2}
        with pytest.raises(Timeout):  # a write is not repeated: its first attempt may land
            calls.clear()
            await request(bus, "test.read.update", {}, timeout=2.5)
        assert len(calls) == 1
    finally:
        never.set()
        await sup.stop()


@pytest.mark.parametrize(
    ("headers", "past"),
    [
        ({"Jetkube-Deadline": "99.5"}, True),
        ({"Jetkube-Deadline": "100.5"}, False),
        ({}, False),  # an old client: no deadline
        (None, False),
        ({"Jetkube-Deadline": "soon"}, False),
    ],
)
def test_past_deadline(headers: dict[str, str] | None, past: bool) -> None:
    assert past_deadline(headers, now=100.0) is past


async def _true(value: bool) -> bool:
    return value
