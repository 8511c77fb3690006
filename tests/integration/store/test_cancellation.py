"""A task cancelled while it talks to NATS stops: no cancellation is lost in nats-py's waits.

Python 3.11's ``asyncio.wait_for`` dropped a cancel that arrived with the reply (bus/cancelsafe.py);
a loop of requests then ran on after ``cancel()``, which is how tests hung until their timeout."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from bus.codec import encode
from bus.connection import Bus
from bus.rpc import request
from bus.store import Store


async def _cancel_many_times(loop_body: Any, trials: int) -> int:
    """Start ``loop_body`` in a task forever, cancel it at a random moment; count the cancels that
    did not stop it within 2 s."""
    ignored = 0
    rng = random.Random(7)
    for _ in range(trials):

        async def forever() -> None:
            while True:
                await loop_body()

        task = asyncio.create_task(forever())
        await asyncio.sleep(rng.uniform(0.0005, 0.005))
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        if not done:
            ignored += 1
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=2)
        assert task.cancelled()
    return ignored


async def test_a_loop_of_requests_stops_when_cancelled(bus: Bus) -> None:
    async def echo(msg: Any) -> None:
        await msg.respond(encode({"object": 1}))

    await bus.nc.subscribe("test.echo", cb=echo)
    ignored = await _cancel_many_times(lambda: request(bus, "test.echo", {}), 200)
    assert ignored == 0, f"{ignored} of 200 cancellations were lost"


async def test_a_loop_of_store_reads_stops_when_cancelled(store: Store) -> None:
    await store.create("configmaps", {"metadata": {"name": "a", "namespace": "default"}, "data": {}})

    async def read() -> None:
        await store.get("configmaps", "default", "a")
        await store.list("configmaps", "default")

    ignored = await _cancel_many_times(read, 100)
    assert ignored == 0, f"{ignored} of 100 cancellations were lost"
