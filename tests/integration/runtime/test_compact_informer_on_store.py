"""The compact pods informer of SharedInformers on the real Store (a nats-server per test, from
tests/conftest.py): it lists by streaming the store's snapshot, then follows the store's watch."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

from actors.runtime.cache import NODE_INDEX, DecodingView, by_node_name, key_of
from actors.runtime.informer import Informer
from actors.runtime.listwatch import StoreListWatcher, WatchEventLike
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor
from bus.store import Store
from tests.integration.runtime.test_runtime_on_store import Recorder
from tests.unit.runtime.fakes import eventually


def pod(name: str, node: str | None = None, **labels: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80}]}]
    }
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web", **labels}},
        "spec": spec,
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]},
    }


class CountingListWatcher(StoreListWatcher):
    """The store's ListWatcher, counting list calls and noting each watch's revision (None: a
    snapshot)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.list_calls = 0
        self.watches: list[str | int | None] = []

    async def list(self, resource: str, *args: Any, **kw: Any) -> dict[str, Any]:
        self.list_calls += 1
        return await super().list(resource, *args, **kw)

    async def watch(self, resource: str, *args: Any, **kw: Any) -> AsyncIterator[WatchEventLike]:
        self.watches.append(kw.get("resource_version"))
        async for event in super().watch(resource, *args, **kw):
            yield event


async def assert_mirrors_store(informer: Informer, store: Store) -> None:
    items, _ = await store.list("pods")
    assert {key_of(p): p for p in informer.list()} == {key_of(p): p for p in items}
    for obj in items:
        assert informer.get(key_of(obj)) == await store.get("pods", "default", obj["metadata"]["name"])


async def test_compact_pods_informer_syncs_from_a_stream_and_follows_the_store(store: Store) -> None:
    for i in range(40):
        await store.create("pods", pod(f"p{i}", node=f"n{i % 3}"))
    await store.delete("pods", "default", "p39")
    lw = CountingListWatcher(store)
    informers = SharedInformers(lw, backoff_base=0.05)
    pods = informers.informer("pods")
    pods.add_index(NODE_INDEX, by_node_name)
    rec = Recorder(pods)
    sup = Supervisor()
    informers.start(sup)
    try:
        await informers.wait_synced(timeout=10)
        assert pods.stream_list and lw.list_calls == 0 and lw.watches[0] is None
        assert len(pods) == 39 and len(rec.seen) == 39 and {kind for kind, _ in rec.seen} == {"add"}
        await assert_mirrors_store(pods, store)
        assert pods.index_keys(NODE_INDEX, "n1") == sorted(f"default/p{i}" for i in range(1, 39, 3))
        assert isinstance(pods.objects, DecodingView) and pods.objects["default/p0"] == pods.get("default/p0")
        got = pods.get("default/p0")
        got["spec"]["nodeName"] = "changed-by-a-reader"
        assert pods.get("default/p0")["spec"]["nodeName"] == "n0"

        await eventually(lambda: len(lw.watches) == 2, timeout=10, what="the watch after the snapshot")
        assert lw.watches[1] == str(pods.revision)  # on from the BOOKMARK's revision
        rec.seen.clear()
        p1 = copy.deepcopy(pods.get("default/p1"))
        p1["status"]["phase"] = "Running"
        p1["spec"]["nodeName"] = "n9"
        await store.update("pods", p1)
        await store.create("pods", pod("new", node="n1"))
        await store.delete("pods", "default", "p2")
        await eventually(lambda: len(rec.seen) == 3, timeout=10, what="three changes")
        assert rec.seen == [("update", "default/p1"), ("add", "default/new"), ("delete", "default/p2")]
        await assert_mirrors_store(pods, store)
        assert pods.get("default/p1")["status"]["phase"] == "Running"
        assert pods.index_keys(NODE_INDEX, "n9") == ["default/p1"]
        assert "default/new" in pods.index_keys(NODE_INDEX, "n1")
        assert "default/p2" not in pods.index_keys(NODE_INDEX, "n2") and "default/p2" not in pods.objects
        assert lw.list_calls == 0 and len(lw.watches) == 2
    finally:
        await sup.stop()


async def test_compact_relist_reports_deletes_made_while_it_was_stopped(store: Store) -> None:
    for i in range(30):
        await store.create("pods", pod(f"p{i}", node="n1"))
    informers = SharedInformers(CountingListWatcher(store), backoff_base=0.05)
    pods = informers.informer("pods")
    pods.add_index(NODE_INDEX, by_node_name)
    rec = Recorder(pods)
    sup = Supervisor()
    informers.start(sup)
    await informers.wait_synced(timeout=10)
    await sup.stop()  # the informer is down: a restart, a partition ...

    deleted = {f"default/p{i}" for i in range(0, 30, 4)}
    for key in sorted(deleted):
        await store.delete("pods", "default", key.split("/")[1])
    kept = copy.deepcopy(pods.get("default/p1"))
    kept["status"]["phase"] = "Running"
    await store.update("pods", kept)
    await store.create("pods", pod("late", node="n2"))
    rec.seen.clear()

    sup = Supervisor()
    sup.spawn("second-run", pods.run)  # the same cache: the streamed snapshot is diffed against it
    try:
        await eventually(lambda: pods.lists == 2, timeout=10, what="re-list")
        assert sorted(rec.seen) == sorted(
            [("delete", key) for key in deleted] + [("update", "default/p1"), ("add", "default/late")]
        )
        assert len(pods) == 30 - len(deleted) + 1
        await assert_mirrors_store(pods, store)
        assert not deleted & set(pods.index_keys(NODE_INDEX, "n1"))
        assert pods.index_keys(NODE_INDEX, "n2") == ["default/late"]
        rec.seen.clear()
        await store.delete("pods", "default", "p1")  # and it watches on after the re-list
        await eventually(lambda: rec.seen == [("delete", "default/p1")], timeout=10, what="a later delete")
    finally:
        await sup.stop()
