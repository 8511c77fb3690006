"""A list returns every object up to its revision, or fails: never a silent part of it.

An informer takes an object missing from a list for a deleted one. Here a real nats-server's
consumer delivers the snapshot and one delivery is lost between the connection and the list (as a
client-side drop would lose it): the list must fail, not answer without the object."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats.js import api as jsapi

from bus.connection import Bus
from bus.snapshot import read_snapshot, sequences
from bus.store import Store
from schemas.errors import ServiceUnavailable, Timeout


def config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}}


async def snapshot_losing(bus: Bus, store: Store, lose: int) -> dict[str, Any]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    async def deliver(msg: Any) -> None:
        if sequences(msg)[1] != lose:  # the lost delivery
            inbox.put_nowait(msg)

    sub = await bus.js.subscribe(
        store.prefix + "configmaps.>",
        cb=deliver,
        ordered_consumer=True,
        deliver_policy=jsapi.DeliverPolicy.LAST_PER_SUBJECT,
        stream=store.stream,
    )
    try:
        latest, _ = await read_snapshot(sub, inbox, 0, "configmaps", stall_seconds=2)
        return latest
    finally:
        await sub.unsubscribe()


async def test_a_list_that_lost_a_delivery_fails(bus: Bus, store: Store) -> None:
    for i in range(5):
        await store.create("configmaps", config_map(f"c{i}"))
    assert len(await snapshot_losing(bus, store, lose=0)) == 5  # nothing lost: all five
    with pytest.raises(ServiceUnavailable, match="incomplete"):
        await snapshot_losing(bus, store, lose=3)


async def test_a_list_that_lost_its_last_delivery_fails(bus: Bus, store: Store) -> None:
    for i in range(3):
        await store.create("configmaps", config_map(f"c{i}"))
    with pytest.raises((ServiceUnavailable, Timeout)):  # it waited for the last one in vain
        await snapshot_losing(bus, store, lose=3)
