"""A watch whose consumer is gone for good ends, so that its informer re-lists, instead of waiting
forever; a quiet watch whose consumer is alive goes on.

nats-py recreates an ordered consumer whose heartbeats stop, but an attempt that fails is only
reported to the error callback. Here every recreate fails (as while a stream has no leader) and
the consumer is deleted on the server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.js.client import JetStreamContext

from bus.store import Store, WatchEvent
from schemas.errors import ServiceUnavailable
from tests.unit.runtime.fakes import eventually


def configmap(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "data": {}}


@contextlib.asynccontextmanager
async def watching(store: Store) -> AsyncIterator[tuple[asyncio.Queue[WatchEvent], asyncio.Task[None]]]:
    events: asyncio.Queue[WatchEvent] = asyncio.Queue()

    async def follow() -> None:
        async with contextlib.aclosing(store.watch("configmaps")) as stream:
            async for event in stream:
                events.put_nowait(event)

    task = asyncio.create_task(follow())
    try:
        first = await asyncio.wait_for(events.get(), 10)
        assert first.type == "BOOKMARK"
        yield events, task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ServiceUnavailable):
            await task


async def test_a_watch_whose_consumer_is_gone_ends(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.watch_check_after = 1.0

    async def recreate_fails(self: Any) -> None:  # as when the stream has no leader
        return None

    monkeypatch.setattr(JetStreamContext._JSI, "recreate_consumer", recreate_fails)
    async with watching(store) as (_events, task):
        consumers = await store.js._jsm.consumers_info(store.stream)
        assert consumers, "the watch has a consumer"
        for info in consumers:
            await store.js._jsm.delete_consumer(store.stream, info.name)
        done, _ = await asyncio.wait({task}, timeout=15)
        assert done, "the watch still waits on a consumer that no longer exists"
        with pytest.raises(ServiceUnavailable, match="consumer is gone"):
            task.result()


async def test_a_quiet_watch_with_a_live_consumer_goes_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.watch_check_after = 0.5
    checks: list[int] = []
    check = Store._check_consumer

    async def counted(self: Store, *args: Any) -> int:
        result = await check(self, *args)
        checks.append(result)
        return result

    monkeypatch.setattr(Store, "_check_consumer", counted)
    async with watching(store) as (events, task):
        # quiet on purpose; the positive control: three consumer checks have run meanwhile
        await eventually(lambda: len(checks) >= 3, what="three consumer checks of the quiet watch")
        assert not task.done()
        await store.create("configmaps", configmap("after-quiet"))
        event = await asyncio.wait_for(events.get(), 10)
        assert (event.type, event.object["metadata"]["name"]) == ("ADDED", "after-quiet")


async def test_a_watch_whose_delivery_stalls_ends(store: Store) -> None:
    """Messages pending on the consumer while the watch hears nothing: delivery has stalled (as
    when a flow-control reply is lost). Here the watch's inbox loses its interest on the server."""
    store.watch_check_after = 1.0
    before = set(store.bus.nc._subs)
    async with watching(store) as (_events, task):
        new = [sid for sid in store.bus.nc._subs if sid not in before]
        assert new, "the watch subscribed"
        for sid in new:
            await store.bus.nc._send_unsubscribe(sid)  # the server stops delivering; the client waits
        await store.bus.nc.flush()
        await store.create("configmaps", configmap("never-delivered"))
        done, _ = await asyncio.wait({task}, timeout=8)
        assert done, "the watch still waits while its consumer holds a pending message"
        with pytest.raises(ServiceUnavailable, match="pending but none delivered"):
            task.result()
