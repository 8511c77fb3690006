"""A NATS server killed during a stream of 1,000 writes to the state store.

The writer uses the Store directly on a connection to all three servers' loopback ports. After a
fifth of the writes are acknowledged, the server that leads the state bucket's stream is killed
(SIGKILL): the stream elects a new leader among the two left, the client reconnects, and the
writes go on. A write that timed out may or may not have landed; the writer retries it as a
compare-and-set create, so an AlreadyExists whose stored value is ours counts as acknowledged.
Afterwards every acknowledged write must be readable, with the value written, and the killed
server, started again, must catch up (the stream's three replicas current).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bus.store import Store
from cli.testbed import Testbed, docker
from schemas.errors import AlreadyExists, JetkubeError
from tests.testbed.helpers import connect_bed, poll, wait_bed_whole

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

WRITES = 1000
KILL_AFTER = 200
NAMESPACE = "testbed-nats-fault"


def _obj(i: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"w-{i:04d}", "namespace": NAMESPACE},
        "data": {"i": str(i)},
    }


async def _write(store: Store, i: int, deadline: float) -> int:
    """Create object i until acknowledged; its revision."""
    delay = 0.1
    while True:
        try:
            obj = await store.create("configmaps", _obj(i))
            return int(obj["metadata"]["resourceVersion"])
        except AlreadyExists:
            # an earlier attempt landed though its ack was lost: it is ours if it holds our data
            obj = await store.get("configmaps", NAMESPACE, f"w-{i:04d}")
            assert obj["data"] == {"i": str(i)}
            return int(obj["metadata"]["resourceVersion"])
        except JetkubeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


async def _stream_leader(store: Store) -> str:
    info = await store.js.stream_info(store.stream)
    assert info.cluster is not None and info.cluster.leader
    return info.cluster.leader


@pytest.mark.timeout(240)
async def test_nats_server_killed_during_writes(testbed: Testbed) -> None:
    bus = await connect_bed("nats-fault-writer", js_timeout=3.0)
    store = Store(bus)
    try:
        leader = await _stream_leader(store)  # "n2" -> service nats2
        victim = f"nats{leader[1:]}"
        victim_id = testbed.container_id(victim)
        acked: dict[int, int] = {}
        killed_at: float | None = None
        deadline = time.monotonic() + 120
        t0 = time.monotonic()
        for i in range(WRITES):
            acked[i] = await _write(store, i, deadline)
            if i + 1 == KILL_AFTER:
                await asyncio.to_thread(docker, "kill", victim_id)
                killed_at = time.monotonic()
        elapsed = time.monotonic() - t0
        assert killed_at is not None
        assert len(acked) == WRITES, "writes did not go on after the kill"
        new_leader = await _stream_leader(store)
        assert new_leader != leader

        # every acknowledged write is there, with its value, at the acknowledged revision or later
        async def listed() -> list[dict]:
            items, _ = await store.list("configmaps", namespace=NAMESPACE)
            return items

        # a consumer's creation may time out while the new stream leader settles: retried
        items = await poll(listed, 30, "the ConfigMaps listed after the failover")
        by_name = {o["metadata"]["name"]: o for o in items}
        missing = [i for i in acked if f"w-{i:04d}" not in by_name]
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
        for i, rev in acked.items():
            obj = by_name[f"w-{i:04d}"]
            assert obj["data"] == {"i": str(i)}
            assert int(obj["metadata"]["resourceVersion"]) == rev

        # the killed server comes back and catches up: three current replicas again
        await asyncio.to_thread(docker, "start", victim_id)

        async def caught_up() -> bool:
            info = await store.js.stream_info(store.stream)
            reps = info.cluster.replicas or [] if info.cluster else []
            return len(reps) == 2 and all(r.current for r in reps)

        await poll(caught_up, 60, f"{victim} caught up with the state bucket's stream")
        print(f"\n{WRITES} writes in {elapsed:.1f}s with {victim} ({leader}) killed after {KILL_AFTER}")

        # clean up, through the store too
        await asyncio.gather(*(store.delete("configmaps", NAMESPACE, f"w-{i:04d}") for i in acked))
    finally:
        await bus.close()
    await wait_bed_whole(testbed)
