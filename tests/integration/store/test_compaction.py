"""Compaction: delete markers older than the retention are purged; a watch from before them is Gone.

Against a real nats-server: the stream then holds only the live objects, and a watch that asks for
the changes after a revision older than the compacted one gets 410 Expired (an informer re-lists)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

from bus.compaction import Marker, expired, last_markers, purge
from bus.store import Store
from schemas.errors import Gone


def config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}}


async def messages(store: Store) -> int:
    info = await store.js.stream_info(store.stream)
    return int(info.state.messages)


async def first_event(store: Store, from_revision: int) -> Any:
    async with contextlib.aclosing(store.watch("configmaps", from_revision=from_revision)) as events:
        async for event in events:
            return event
    return None


async def test_old_delete_markers_are_purged_and_old_watches_are_gone(store: Store) -> None:
    await store.create("configmaps", config_map("live"))
    for i in range(20):  # churn, as Jobs would make
        await store.create("configmaps", config_map(f"job-{i}"))
        await store.delete("configmaps", "default", f"job-{i}")
    before = await store.revision()
    assert await messages(store) == 21  # the live object and 20 markers

    assert (await store.compact(retention=3600)).purged == 0  # younger than the retention: kept
    done = await store.compact(retention=0)

    assert done.purged == 20
    assert await messages(store) == 2  # the live object and the record of the compacted revision
    items, _ = await store.list("configmaps")
    assert [i["metadata"]["name"] for i in items] == ["live"]
    with pytest.raises(Gone, match="too old resource version"):
        await first_event(store, from_revision=1)
    # from the compacted revision on, nothing was lost: the watch works
    await store.create("configmaps", config_map("job-0"))  # a purged name is free again
    event = await first_event(store, from_revision=before)
    assert (event.type, event.object["metadata"]["name"]) == ("ADDED", "job-0")


async def test_a_key_created_again_after_the_scan_keeps_its_new_value(store: Store) -> None:
    await store.create("configmaps", config_map("a"))
    await store.delete("configmaps", "default", "a")
    markers = await last_markers(store.bus, store.stream, store.prefix + ">")
    doomed = expired(markers, now=time.time() + 10, retention=0)
    assert [m.subject.rsplit(".", 1)[-1] for m in doomed] == ["a"]
    await store.create("configmaps", config_map("a"))  # between the scan and the purge
    await purge(store.bus, store.stream, store.prefix, doomed)
    assert (await store.get("configmaps", "default", "a"))["metadata"]["name"] == "a"


@pytest.mark.parametrize(
    ("markers", "doomed"),
    [
        ([Marker("k1", 5, 100.0, True)], [5]),  # old enough
        ([Marker("k1", 5, 250.0, True)], []),  # younger than the retention
        ([Marker("k1", 5, 0.0, False)], []),  # a live object, however old
        ([Marker("k2", 9, 10.0, True), Marker("k1", 5, 10.0, True)], [5, 9]),  # oldest first
    ],
)
def test_which_markers_expire(markers: list[Marker], doomed: list[int]) -> None:
    assert [m.seq for m in expired(markers, now=300.0, retention=60.0)] == doomed
