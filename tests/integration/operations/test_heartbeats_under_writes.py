"""`jetkube get componentstatuses` reads every process's last heartbeat while processes keep beating.

A beat rewrites its process's key: the bucket drops the old message before a reader's consumer
reaches it, and the new one can arrive after the message that said nothing was pending. nats-py's
KV watch stops there and missed such a process; the heartbeats are now read as the store lists."""

from __future__ import annotations

import random

from actors.health.agent import open_beats, process_key
from actors.health.query import heartbeats
from bus.codec import encode
from bus.connection import Bus
from tests.rewrites import reads_while_rewriting

PROCESSES = 150
READS = 100


async def test_every_process_is_read_while_all_keep_beating(bus: Bus) -> None:
    kv = await open_beats(bus)
    keys = [process_key(f"kubelet-node-{i}") for i in range(PROCESSES)]
    for key in keys:
        await kv.put(key, encode({"process": key, "beat": 0}))
    rng = random.Random(5)

    async def beat() -> bool:
        key = keys[rng.randrange(PROCESSES)]
        await kv.put(key, encode({"process": key, "beat": rng.random()}))
        return True

    async def read() -> set[str]:
        seen = await heartbeats(bus)
        assert all(seen[k]["process"] == k for k in seen)
        return set(seen)

    beats, bad = await reads_while_rewriting(read, set(keys), beat, reads=READS)
    assert beats > READS, "the processes must have beaten during the reads"
    assert not bad, f"{len(bad)} of {READS} reads were wrong: {bad[:3]}"


async def test_no_bucket_and_an_empty_bucket_read_as_no_heartbeats(bus: Bus) -> None:
    assert await heartbeats(bus) == {}
    await open_beats(bus)
    assert await heartbeats(bus) == {}
