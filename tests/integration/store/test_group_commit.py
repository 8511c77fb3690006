"""Group commit (bus/groupcommit.py) on a real nats-server: concurrent writes go in atomic batches,
each write still gets its own answer (its revision, or the Conflict/AlreadyExists it earned), and a
batch spoiled by one lost compare-and-set stores everything else."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator

import pytest

from bus.connection import Bus
from bus.groupcommit import committer_for, enable_atomic_batches
from bus.store import Store
from schemas.errors import AlreadyExists, Conflict


@pytest.fixture
async def store(bus: Bus) -> AsyncIterator[Store]:
    """The state store with group commit on (JETKUBE_GROUP_COMMIT=1 does this in Store.open)."""
    store = await Store.open(bus)
    assert await enable_atomic_batches(bus.js, store.stream)
    store.group_commit = True
    yield store


def cm(name: str, value: str = "v") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"k": value},
    }


async def test_concurrent_creates_are_batched_and_each_gets_its_revision(store: Store, bus: Bus) -> None:
    before = committer_for(bus.nc).batched_writes
    made = await asyncio.gather(*(store.create("configmaps", cm(f"g{i}")) for i in range(64)))
    assert committer_for(bus.nc).batched_writes > before  # some went in batches
    revisions = [int(o["metadata"]["resourceVersion"]) for o in made]
    assert len(set(revisions)) == 64
    for obj in made:
        got = await store.get("configmaps", "default", obj["metadata"]["name"])
        assert got["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
        assert got["data"] == {"k": "v"}


async def test_a_lost_compare_and_set_in_a_batch_fails_alone(store: Store) -> None:
    made = await asyncio.gather(*(store.create("configmaps", cm(f"c{i}")) for i in range(16)))

    def changed(obj: dict, value: str) -> dict:
        new = copy.deepcopy(obj)
        new["data"] = {"k": value}
        return new

    # every object updated twice from the same revision at once: exactly one of each pair lands
    writes = [store.update("configmaps", changed(o, who)) for o in made for who in ("a", "b")]
    writes += [store.create("configmaps", cm("c3"))]  # already exists
    writes += [store.create("configmaps", cm(f"n{i}")) for i in range(8)]  # fresh: must all land
    results = await asyncio.gather(*writes, return_exceptions=True)
    pairs, dup, fresh = results[:32], results[32], results[33:]
    for i in range(16):
        a, b = pairs[2 * i], pairs[2 * i + 1]
        assert [isinstance(r, Conflict) for r in (a, b)].count(True) == 1, (a, b)
        winner = a if isinstance(b, Conflict) else b
        got = await store.get("configmaps", "default", f"c{i}")
        assert got["data"] == winner["data"]
        assert got["metadata"]["resourceVersion"] == winner["metadata"]["resourceVersion"]
    assert isinstance(dup, AlreadyExists)
    assert all(isinstance(r, dict) for r in fresh)
    for i in range(8):
        await store.get("configmaps", "default", f"n{i}")
