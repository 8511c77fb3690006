"""A list taken while its objects are being rewritten holds every object exactly once.

The bucket keeps one message per key: an object updated during a list loses its old message
before the list's consumer reaches it, and its new message may arrive after the one that said
nothing was pending. Lists used to miss such objects (seen as a scheduler test reading 9 of 10
pods under load); informers re-listing would have reported them deleted."""

from __future__ import annotations

import asyncio
import random

from bus.store import Store
from schemas.errors import Conflict
from tests.rewrites import reads_while_rewriting

OBJECTS = 150
LISTS = 150


def configmap(i: int) -> dict:
    return {"metadata": {"name": f"c{i}", "namespace": "default"}, "data": {"v": "0"}}


async def test_every_object_listed_once_while_all_are_rewritten(store: Store) -> None:
    for i in range(OBJECTS):
        await store.create("configmaps", configmap(i))
    rng = random.Random(3)

    async def rewrite() -> bool:
        obj = await store.get("configmaps", "default", f"c{rng.randrange(OBJECTS)}")
        obj["data"]["v"] = str(rng.random())
        try:
            await store.update("configmaps", obj)
        except Conflict:
            return False
        return True

    async def read() -> set[str]:
        items, revision = await store.list("configmaps", "default")
        names = [o["metadata"]["name"] for o in items]
        assert len(names) == len(set(names)), "an object listed twice"
        assert all(int(o["metadata"]["resourceVersion"]) <= revision for o in items)
        return set(names)

    expected = {f"c{i}" for i in range(OBJECTS)}
    writes, bad = await reads_while_rewriting(read, expected, rewrite, reads=LISTS)
    assert writes > LISTS, "the writers must have rewritten objects during the lists"
    assert not bad, f"{len(bad)} of {LISTS} lists were wrong: {bad[:3]}"


async def test_an_object_deleted_during_a_list_is_not_in_it_twice(store: Store) -> None:
    for i in range(OBJECTS):
        await store.create("configmaps", configmap(i))
    deleter = asyncio.create_task(_delete_all(store))
    seen_counts: list[int] = []
    while not deleter.done():
        items, _ = await store.list("configmaps", "default")
        names = [o["metadata"]["name"] for o in items]
        assert len(names) == len(set(names)), "an object listed twice"
        seen_counts.append(len(names))
    await deleter
    items, _ = await store.list("configmaps", "default")
    assert items == []
    assert seen_counts == sorted(seen_counts, reverse=True), "a deleted object came back"


async def _delete_all(store: Store) -> None:
    for i in range(OBJECTS):
        obj = await store.get("configmaps", "default", f"c{i}")
        await store.delete(
            "configmaps", "default", f"c{i}", resource_version=obj["metadata"]["resourceVersion"]
        )


async def test_a_list_ends_when_the_last_write_is_another_resources(store: Store) -> None:
    """The snapshot ends by the consumer's own counts, not the stream's last sequence, which may
    belong to a kind this list never sees."""
    for i in range(5):
        await store.create("configmaps", configmap(i))
    await store.create("secrets", {"metadata": {"name": "last", "namespace": "default"}, "data": {}})
    async with asyncio.timeout(10):
        items, revision = await store.list("configmaps", "default")
    assert sorted(o["metadata"]["name"] for o in items) == [f"c{i}" for i in range(5)]
    assert revision >= max(int(o["metadata"]["resourceVersion"]) for o in items)
