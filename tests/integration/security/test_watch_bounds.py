"""Watches are bounded: a user may hold only so many open (429 past it), and a watcher that falls
behind is cut off with 410 Expired (it re-lists) instead of growing a queue without end."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.msg import Msg

from bus.codec import decode
from schemas.errors import TooManyRequests
from tests.integration.security.conftest import SecureCluster


async def ack(msg: Msg) -> None:
    await msg.respond(b"")


def cm(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


async def test_open_watches_per_user_are_limited(secure: SecureCluster) -> None:
    secure.actor.gate.watch_limit = 2  # type: ignore[attr-defined]
    viewer = await secure.client("viewer")
    inboxes = []
    for _ in range(2):
        inbox = viewer.bus.nc.new_inbox()
        await viewer.bus.nc.subscribe(inbox, cb=ack)
        inboxes.append(inbox)
        assert await viewer.call("watch", {"resource": "configmaps", "namespace": "default", "stream": inbox})
    with pytest.raises(TooManyRequests, match="watches open"):
        await viewer.call("watch", {"resource": "configmaps", "namespace": "default", "stream": inboxes[0]})
    # positive control: another user's watches are its own
    admin = await secure.client("admin")
    inbox = admin.bus.nc.new_inbox()
    await admin.bus.nc.subscribe(inbox, cb=ack)
    assert await admin.call("watch", {"resource": "configmaps", "namespace": "default", "stream": inbox})


async def test_a_watcher_that_falls_behind_is_cut_off(secure: SecureCluster) -> None:
    secure.actor.gate.watch_backlog = 5  # type: ignore[attr-defined]
    admin = await secure.client("admin")
    viewer = await secure.client("viewer")
    held: list[Msg] = []
    chunks: list[dict] = []
    acking = asyncio.Event()

    async def slow(msg: Msg) -> None:
        chunks.append(decode(msg.data))
        if acking.is_set():
            await msg.respond(b"")
        else:
            held.append(msg)

    inbox = viewer.bus.nc.new_inbox()
    await viewer.bus.nc.subscribe(inbox, cb=slow)
    await viewer.call("watch", {"resource": "configmaps", "namespace": "default", "stream": inbox})
    await admin.create("configmaps", cm("first"), "default")
    deadline = asyncio.get_running_loop().time() + 10
    while not held:  # the first chunk arrives; it is not acknowledged yet
        assert asyncio.get_running_loop().time() < deadline, "no first chunk"
        await asyncio.sleep(0.05)
    for i in range(20):  # meanwhile the watcher falls 20 events behind
        await admin.create("configmaps", cm(f"c{i}"), "default")
    acking.set()
    for msg in held:
        await msg.respond(b"")
    while not any("error" in c for c in chunks):
        assert asyncio.get_running_loop().time() < deadline + 10, f"never cut off: {len(chunks)} chunks"
        await asyncio.sleep(0.05)
    error = next(c["error"] for c in chunks if "error" in c)
    assert error["code"] == 410 and "fell" in error["message"]
    got = [e for c in chunks for e in c.get("events") or []]
    assert len(got) < 21  # it was never sent everything: it must re-list
