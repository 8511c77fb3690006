"""Requests handed to a responder of the same process and connection (bus/local.py): answered as
over NATS, without a message through nats-server; by NATS when no such responder serves. A real
nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.api.fairness import FairResponder
from actors.runtime.supervisor import Supervisor
from bus import rpc
from bus.connection import Bus
from bus.local import LocalMsg, matches
from bus.rpc import Responder
from schemas.errors import NotFound, RequestEntityTooLarge, ServiceUnavailable, Timeout
from tests.waiting import wait_for

Seen = list[tuple[str, dict[str, Any], Any]]


async def _handler_into(seen: Seen, verb: str, payload: dict[str, Any], msg: Any) -> Any:
    seen.append((verb, payload, msg))
    if verb == "get" and payload.get("name") == "missing":
        raise NotFound('pods "missing" not found')
    return {"verb": verb, "echo": payload}


async def _serving(responder: Responder) -> AsyncIterator[Supervisor]:
    sup = Supervisor()
    sup.spawn("responder", responder.run)
    await wait_for(lambda: _true(responder.serving.is_set()), what="the responder")
    try:
        yield sup
    finally:
        await sup.stop()


@pytest.fixture(params=["plain", "fair"])
async def served(bus: Bus, request: pytest.FixtureRequest) -> AsyncIterator[tuple[Responder, Seen]]:
    seen: Seen = []

    async def handler(verb: str, payload: dict[str, Any], msg: Any) -> Any:
        return await _handler_into(seen, verb, payload, msg)

    kind = FairResponder if request.param == "fair" else Responder
    responder = kind(bus, "test.local.*", handler, concurrency=4)
    async for _ in _serving(responder):
        yield responder, seen


async def test_a_local_request_is_answered_without_nats(bus: Bus, served: tuple[Responder, Seen]) -> None:
    _, seen = served
    before = bus.nc.stats["out_msgs"]
    got = await rpc.request(bus, "test.local.create", {"name": "a", "body": {"x": [1, 2]}}, local=True)
    assert got == {"verb": "create", "echo": {"name": "a", "body": {"x": [1, 2]}}}
    assert bus.nc.stats["out_msgs"] == before  # nothing was published
    _, _, msg = seen[-1]
    assert isinstance(msg, LocalMsg)
    # what the responder sees is what NATS would have delivered: the subject, a reply inbox of
    # this connection (the fairness flow is read from it) and the deadline header
    assert msg.subject == "test.local.create"
    assert "Jetkube-Deadline" in (msg.headers or {})
    await rpc.request(bus, "test.local.create", {"name": "b"})
    by_nats = seen[-1][2]
    assert not isinstance(by_nats, LocalMsg)
    assert msg.reply.rsplit(".", 1)[0] == by_nats.reply.rsplit(".", 1)[0]


async def test_local_and_nats_answers_are_the_same(bus: Bus, served: tuple[Responder, Seen]) -> None:
    payload = {"name": "a", "labels": {"k": "v"}, "n": 3, "t": (1, 2)}
    over_nats = await rpc.request(bus, "test.local.get", payload)
    here = await rpc.request(bus, "test.local.get", payload, local=True)
    assert here == over_nats  # both encoded and decoded: a tuple comes back a list either way
    for local in (False, True):
        with pytest.raises(NotFound, match='pods "missing" not found'):
            await rpc.request(bus, "test.local.get", {"name": "missing"}, local=local)


async def test_a_request_over_the_payload_limit_fails_as_over_nats(
    bus: Bus, served: tuple[Responder, Seen]
) -> None:
    big = {"blob": "x" * (bus.nc.max_payload + 1)}
    errors = []
    for local in (False, True):
        with pytest.raises(Exception) as info:
            await rpc.request(bus, "test.local.create", big, local=local, timeout=5)
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]


async def test_without_a_local_responder_the_request_goes_by_nats(bus: Bus, nats_url: str) -> None:
    other = await Bus.connect(nats_url, name="another process")
    seen: Seen = []

    async def handler(verb: str, payload: dict[str, Any], msg: Any) -> Any:
        return await _handler_into(seen, verb, payload, msg)

    try:
        async for _ in _serving(Responder(other, "test.remote.*", handler)):
            before = bus.nc.stats["out_msgs"]
            assert (await rpc.request(bus, "test.remote.get", {"name": "a"}, local=True))["verb"] == "get"
            assert bus.nc.stats["out_msgs"] > before
            assert not isinstance(seen[-1][2], LocalMsg)
    finally:
        await other.close()


async def test_a_stopped_responder_no_longer_takes_local_requests(bus: Bus) -> None:
    async def handler(verb: str, payload: dict[str, Any], msg: Any) -> Any:
        return {"ok": True}

    responder = Responder(bus, "test.gone.*", handler)
    async for _ in _serving(responder):
        assert await rpc.request(bus, "test.gone.get", {}, local=True) == {"ok": True}
    with pytest.raises(ServiceUnavailable, match=r"nothing answers on test\.gone\.get"):
        await rpc.request(bus, "test.gone.get", {}, local=True, timeout=2)


async def test_a_local_request_its_client_gave_up_on_is_dropped(bus: Bus) -> None:
    """As over NATS (test_request_deadlines.py): a replica that was stalled does not apply, late,
    a write whose client was told it failed."""
    resume, frozen = asyncio.Event(), asyncio.Event()
    applied: list[str] = []

    async def handler(verb: str, payload: dict[str, Any], msg: Any) -> Any:
        if payload["name"] == "first":
            frozen.set()
            await resume.wait()
        applied.append(payload["name"])
        return {"ok": True}

    responder = Responder(bus, "test.lstall.*", handler, concurrency=1)
    async for _ in _serving(responder):
        first = asyncio.ensure_future(
            rpc.request(bus, "test.lstall.write", {"name": "first"}, timeout=30, local=True)
        )
        await asyncio.wait_for(frozen.wait(), 10)
        with pytest.raises(Timeout):
            await rpc.request(bus, "test.lstall.write", {"name": "late"}, timeout=0.5, local=True)
        resume.set()
        await first
        await wait_for(lambda: _true(responder.expired == 1), what="the late write to be dropped")
        assert applied == ["first"]


async def test_an_oversized_reply_is_refused_as_over_nats(bus: Bus) -> None:
    async def handler(verb: str, payload: dict[str, Any], msg: Any) -> Any:
        return {"blob": "x" * (bus.nc.max_payload + 10)}

    async for _ in _serving(Responder(bus, "test.huge.*", handler)):
        for local in (False, True):
            with pytest.raises(RequestEntityTooLarge, match="over the server's"):
                await rpc.request(bus, "test.huge.get", {}, local=local)


@pytest.mark.parametrize(
    ("pattern", "subject", "hit"),
    [
        ("jetkube.api.*", "jetkube.api.create", True),
        ("jetkube.api.*", "jetkube.api.u.admin.create", False),
        ("jetkube.api.u.*.*", "jetkube.api.u.admin.create", True),
        ("jetkube.api.u.*.*", "jetkube.api.create", False),
        ("jetkube.>", "jetkube.api.create", True),
        ("jetkube.>", "jetkube", False),
        ("a.b", "a.b", True),
        ("a.b", "a.c", False),
    ],
)
def test_subject_matching(pattern: str, subject: str, hit: bool) -> None:
    assert matches(pattern, subject) is hit


async def _true(value: bool) -> bool:
    return value
