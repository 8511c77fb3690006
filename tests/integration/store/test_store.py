"""The state log on a real nats-server: CRUD, compare-and-set, generation, list-then-watch."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bus.store import Store
from schemas.errors import AlreadyExists, BadRequest, Conflict, NotFound


def pod(name: str, ns: str = "default", labels: dict | None = None, node: str | None = None) -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": spec,
        "status": {"phase": "Pending"},
    }


async def test_create_get_update_delete_round_trip(store: Store) -> None:
    created = await store.create("pods", pod("a"))
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1
    got = await store.get("pods", "default", "a")
    assert got == created
    assert int(got["metadata"]["resourceVersion"]) == await store.revision()

    got["metadata"]["labels"] = {"x": "y"}
    updated = await store.update("pods", got)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert updated["metadata"]["uid"] == meta["uid"]
    assert (await store.get("pods", "default", "a"))["metadata"]["labels"] == {"x": "y"}

    removed = await store.delete("pods", "default", "a")
    assert removed["metadata"]["name"] == "a"
    with pytest.raises(NotFound, match='pods "a" not found'):
        await store.get("pods", "default", "a")


async def test_create_twice_is_already_exists_and_recreate_after_delete_works(store: Store) -> None:
    await store.create("pods", pod("a"))
    with pytest.raises(AlreadyExists, match='pods "a" already exists'):
        await store.create("pods", pod("a"))
    await store.delete("pods", "default", "a")
    again = await store.create("pods", pod("a"))
    assert again["metadata"]["generation"] == 1


async def test_two_concurrent_updates_exactly_one_wins(store: Store) -> None:
    base = await store.create("pods", pod("a"))
    first = {**base, "spec": {**base["spec"], "nodeName": "n1"}}
    second = {**base, "spec": {**base["spec"], "nodeName": "n2"}}
    results = await asyncio.gather(
        store.update("pods", first), store.update("pods", second), return_exceptions=True
    )
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1
    assert "the object has been modified" in str(losses[0])
    assert (await store.get("pods", "default", "a"))["spec"]["nodeName"] == wins[0]["spec"]["nodeName"]


async def test_stale_revision_is_conflict_and_changes_nothing(store: Store) -> None:
    base = await store.create("pods", pod("a"))
    await store.update("pods", {**base, "metadata": {**base["metadata"], "labels": {"v": "1"}}})
    with pytest.raises(Conflict):
        await store.update("pods", {**base, "metadata": {**base["metadata"], "labels": {"v": "2"}}})
    with pytest.raises(Conflict):
        await store.delete("pods", "default", "a", resource_version=base["metadata"]["resourceVersion"])
    assert (await store.get("pods", "default", "a"))["metadata"]["labels"] == {"v": "1"}


async def test_update_without_resource_version_is_refused(store: Store) -> None:
    base = await store.create("pods", pod("a"))
    base["metadata"].pop("resourceVersion")
    with pytest.raises(BadRequest, match="resourceVersion"):
        await store.update("pods", base)


async def test_generation_moves_on_spec_changes_only(store: Store) -> None:
    obj = await store.create("pods", pod("a"))
    obj["metadata"]["labels"] = {"a": "b"}
    obj = await store.update("pods", obj)
    obj["status"] = {"phase": "Running"}
    obj = await store.update("pods", obj)
    assert obj["metadata"]["generation"] == 1
    obj["spec"]["nodeName"] = "n1"
    obj = await store.update("pods", obj)
    assert obj["metadata"]["generation"] == 2


async def test_list_with_label_and_field_selectors(store: Store) -> None:
    await store.create("pods", pod("a", labels={"app": "web", "tier": "fe"}, node="n1"))
    await store.create("pods", pod("b", labels={"app": "web"}, node="n2"))
    await store.create("pods", pod("c", labels={"app": "db"}))
    await store.create("pods", pod("d", ns="other", labels={"app": "web"}))
    names = lambda items: sorted(i["metadata"]["name"] for i in items)  # noqa: E731
    items, rev = await store.list("pods")
    assert names(items) == ["a", "b", "c", "d"] and rev == await store.revision()
    assert names((await store.list("pods", "default"))[0]) == ["a", "b", "c"]
    assert names((await store.list("pods", None, "app=web"))[0]) == ["a", "b", "d"]
    assert names((await store.list("pods", None, "app in (web),tier"))[0]) == ["a"]
    assert names((await store.list("pods", None, "app!=web"))[0]) == ["c"]
    assert names((await store.list("pods", None, None, "spec.nodeName=n2"))[0]) == ["b"]
    assert names((await store.list("pods", "default", None, "metadata.name=c"))[0]) == ["c"]


async def test_list_of_empty_resource_and_deleted_objects(store: Store) -> None:
    items, rev = await store.list("services")
    assert items == [] and rev == await store.revision()
    await store.create("pods", pod("a"))
    await store.delete("pods", "default", "a")
    items, _ = await store.list("pods")
    assert items == []


async def test_list_then_watch_under_concurrent_writers_misses_and_repeats_nothing(store: Store) -> None:
    """Writers create and update pods while a reader lists and then watches from the listed
    revision: the reader's final view equals the store's, and every revision arrives once."""
    for i in range(50):
        await store.create("pods", pod(f"pre-{i}"))

    async def writer(w: int) -> None:
        for i in range(60):
            obj = await store.create("pods", pod(f"w{w}-{i}"))
            if i % 3 == 0:
                obj["metadata"]["labels"] = {"touched": "yes"}
                await store.update("pods", obj)
            if i % 5 == 0:
                await store.delete("pods", "default", f"w{w}-{i}")

    writers = [asyncio.ensure_future(writer(w)) for w in range(4)]
    await asyncio.sleep(0)
    items, rev = await store.list("pods")
    view = {i["metadata"]["name"]: i for i in items}
    seen_revisions: list[int] = []
    await asyncio.gather(*writers)
    final_rev = await store.revision()

    async def follow() -> None:
        async with contextlib.aclosing(store.watch("pods", from_revision=rev)) as events:
            async for ev in events:
                seen_revisions.append(ev.revision)
                name = ev.object["metadata"]["name"]
                if ev.type == "DELETED":
                    view.pop(name, None)
                else:
                    view[name] = ev.object
                if ev.revision >= final_rev:
                    return

    if final_rev > rev:
        await asyncio.wait_for(follow(), 20)
    assert len(seen_revisions) == len(set(seen_revisions))
    assert all(r > rev for r in seen_revisions)
    truth, _ = await store.list("pods")
    assert view == {i["metadata"]["name"]: i for i in truth}


async def test_watch_from_snapshot_gives_list_bookmark_then_changes(store: Store) -> None:
    await store.create("pods", pod("a"))
    events = []
    async with contextlib.aclosing(store.watch("pods", "default")) as stream:
        async for ev in stream:
            events.append(ev)
            if ev.type == "BOOKMARK":
                obj = await store.get("pods", "default", "a")
                obj["metadata"]["labels"] = {"x": "1"}
                await store.update("pods", obj)
                await store.create("pods", pod("b"))
                await store.delete("pods", "default", "a")
            if len(events) == 5:
                break
    assert [e.type for e in events] == ["ADDED", "BOOKMARK", "MODIFIED", "ADDED", "DELETED"]
    deleted = events[-1].object
    assert deleted["metadata"]["name"] == "a" and deleted["metadata"]["labels"] == {"x": "1"}


async def test_update_batch_pipelines_and_reports_each_conflict(store: Store) -> None:
    objs = [await store.create("pods", pod(f"p{i}")) for i in range(20)]
    stale = dict(objs[3])
    await store.update("pods", {**objs[3], "metadata": {**objs[3]["metadata"], "labels": {"x": "1"}}})
    pairs = []
    for o in objs:
        new = {**o, "spec": {**o["spec"], "nodeName": "n1"}}
        pairs.append((new, stale if o is objs[3] else o))
    results = await store.update_batch("pods", pairs)
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert isinstance(results[3], Conflict)
    bound, _ = await store.list("pods", None, None, "spec.nodeName=n1")
    assert len(bound) == 19
