"""Informer against an in-memory ListWatcher: sync, events, stale events, re-list after gaps."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.runtime.cache import by_node_name, by_owner_uid, key_of, split_key
from actors.runtime.informer import Informer
from actors.runtime.listwatch import Event
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor, guarded_task
from schemas.errors import ServiceUnavailable, Timeout
from tests.unit.runtime.fakes import FakeListWatcher, eventually, pod


class Recorder:
    """Handlers that record what they were told, as (kind, key, resourceVersion)."""

    def __init__(self, informer: Informer) -> None:
        self.seen: list[tuple[str, str, str]] = []
        informer.add_handler(self.on_add, self.on_update, self.on_delete)

    def _rv(self, obj: dict[str, Any]) -> str:
        return obj["metadata"].get("resourceVersion", "")

    def on_add(self, obj: dict[str, Any]) -> None:
        self.seen.append(("add", key_of(obj), self._rv(obj)))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.seen.append(("update", key_of(new), self._rv(new)))

    def on_delete(self, obj: dict[str, Any]) -> None:
        self.seen.append(("delete", key_of(obj), self._rv(obj)))


@pytest.fixture
async def running() -> AsyncIterator[tuple[FakeListWatcher, Informer, Recorder]]:
    lw = FakeListWatcher()
    lw.create(pod("a", nodeName="n1"))
    lw.create(pod("b", nodeName="n2"))
    informer = Informer(lw, "pods", backoff_base=0.01, backoff_cap=0.05)
    rec = Recorder(informer)
    task = guarded_task("informer", informer.run())
    await informer.wait_synced(timeout=2)
    await eventually(lambda: lw.open_watches == 1, what="watch open")
    yield lw, informer, rec
    task.cancel()
    await asyncio.wait({task})


async def test_initial_sync_fills_cache_and_reports_adds(running) -> None:
    lw, informer, rec = running
    assert informer.synced
    assert sorted(informer.keys()) == ["default/a", "default/b"]
    assert informer.get("default/a")["spec"]["nodeName"] == "n1"
    assert sorted(rec.seen) == [("add", "default/a", "1"), ("add", "default/b", "2")]
    assert informer.revision == 2
    assert lw.watch_calls == [2]  # watch from the listed revision


async def test_watch_events_update_cache_and_handlers(running) -> None:
    lw, informer, rec = running
    rec.seen.clear()
    a = copy.deepcopy(lw.objects["default/a"])
    a["spec"]["nodeName"] = "n9"
    lw.update(a)
    lw.create(pod("c"))
    lw.delete("default/b")
    await eventually(lambda: len(rec.seen) == 3, what="three events")
    assert rec.seen == [("update", "default/a", "3"), ("add", "default/c", "4"), ("delete", "default/b", "5")]
    assert sorted(informer.keys()) == ["default/a", "default/c"]
    assert informer.get("default/a")["spec"]["nodeName"] == "n9"
    assert informer.revision == 5


async def test_stale_and_duplicate_events_are_ignored(running) -> None:
    lw, informer, rec = running
    a1 = copy.deepcopy(lw.objects["default/a"])  # rv 1
    a = copy.deepcopy(a1)
    a["spec"]["nodeName"] = "n3"
    a3 = lw.update(a)  # rv 3
    await eventually(lambda: informer.get("default/a")["metadata"]["resourceVersion"] == "3")
    rec.seen.clear()
    lw.inject(Event("MODIFIED", a3, 3))  # duplicate delivery
    lw.inject(Event("MODIFIED", a1, 1))  # out of order: older than cached
    lw.inject(Event("ADDED", a1, 1))
    b_old = copy.deepcopy(lw.objects["default/b"])
    lw.delete("default/b")  # rv 4
    lw.inject(Event("ADDED", b_old, 2))  # a late re-delivery of an object deleted since
    lw.inject(Event("DELETED", b_old, 4))  # duplicate delete
    marker = lw.create(pod("marker"))  # rv 5: once seen, everything before it was handled
    await eventually(lambda: informer.get("default/marker") is not None)
    assert rec.seen == [
        ("delete", "default/b", "4"),
        ("add", "default/marker", marker["metadata"]["resourceVersion"]),
    ]
    assert informer.get("default/a")["spec"]["nodeName"] == "n3"
    assert informer.get("default/b") is None


async def test_connection_error_relists_with_backoff(running) -> None:
    lw, informer, _rec = running
    lw.list_failures = [ServiceUnavailable("nats down"), ServiceUnavailable("nats down")]
    lw.break_watches(ConnectionResetError("connection lost"))
    await eventually(lambda: lw.list_calls == 4 and lw.open_watches == 1, what="re-list after failures")
    assert informer.synced
    lw.create(pod("e"))
    await eventually(lambda: informer.get("default/e") is not None)


async def test_watch_that_ends_cleanly_is_resumed_without_relist() -> None:
    class EndingListWatcher(FakeListWatcher):
        async def watch(self, resource: str, *args: Any, **kw: Any) -> AsyncIterator[Event]:
            self.watch_calls.append(int(kw.get("resource_version") or 0))
            for event in self.history:
                if event.revision > self.watch_calls[-1]:
                    yield event

    lw = EndingListWatcher()
    lw.create(pod("a"))
    informer = Informer(lw, "pods", backoff_base=0.01, backoff_cap=0.02)
    task = guarded_task("informer", informer.run())
    await informer.wait_synced(1)
    lw.create(pod("b"))
    await eventually(lambda: informer.get("default/b") is not None and len(lw.watch_calls) >= 3)
    assert lw.list_calls == 1
    assert lw.watch_calls[:2] == [1, 1] and lw.watch_calls[2] == 2
    task.cancel()
    await asyncio.wait({task})


async def test_indexers_follow_changes(running) -> None:
    lw, informer, _ = running
    informer.add_index("node", by_node_name)
    assert [key_of(p) for p in informer.by_index("node", "n1")] == ["default/a"]
    owned = pod("c", nodeName="n1")
    owned["metadata"]["ownerReferences"] = [
        {"kind": "ReplicaSet", "name": "rs", "uid": "u1", "controller": True}
    ]
    informer.add_index("owner", by_owner_uid)
    lw.create(owned)
    a = copy.deepcopy(lw.objects["default/a"])
    a["spec"]["nodeName"] = "n2"
    lw.update(a)
    await eventually(lambda: informer.index_keys("node", "n2") == ["default/a", "default/b"])
    assert informer.index_keys("node", "n1") == ["default/c"]
    assert informer.index_keys("owner", "u1") == ["default/c"]
    lw.delete("default/c")
    await eventually(lambda: informer.index_keys("owner", "u1") == [])
    assert informer.by_index("node", "n1") == []


async def test_handler_added_after_sync_gets_current_objects_and_bad_handler_is_contained(running) -> None:
    lw, informer, rec = running
    late: list[str] = []
    informer.add_handler(on_add=lambda obj: late.append(key_of(obj)))

    def broken(obj: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    informer.add_handler(on_add=broken)
    assert sorted(late) == ["default/a", "default/b"]
    lw.create(pod("c"))
    await eventually(lambda: "default/c" in late)
    assert ("add", "default/c", "3") in rec.seen  # other handlers still ran


async def test_wait_synced_times_out_with_timeout_error() -> None:
    lw = FakeListWatcher()
    informer = Informer(lw, "pods")
    with pytest.raises(Timeout):
        await informer.wait_synced(timeout=0.02)


async def test_namespaced_informer_and_cluster_scoped_keys() -> None:
    lw = FakeListWatcher()
    lw.create(pod("a", namespace="default"))
    lw.create(pod("a", namespace="other"))
    lw.create(pod("node1", namespace=None))
    informer = Informer(lw, "pods", namespace="other")
    task = guarded_task("informer", informer.run())
    await informer.wait_synced(1)
    assert informer.keys() == ["other/a"]
    task.cancel()
    await asyncio.wait({task})
    assert split_key("other/a") == ("other", "a") and split_key("node1") == (None, "node1")
    assert key_of(pod("node1", namespace=None)) == "node1"


async def test_shared_informers_share_one_informer_per_view_and_start_late_ones() -> None:
    lw = FakeListWatcher()
    lw.create(pod("a"))
    sup = Supervisor()
    factory = SharedInformers(lw, backoff_base=0.01)
    pods = factory.informer("pods")
    assert factory.informer("pods") is pods
    assert factory.informer("pods", "kube-system") is not pods
    factory.start(sup)
    await factory.wait_synced(timeout=1)
    late = factory.informer("pods", label_selector="app=x")
    assert sup.child(late.name) is not None
    await factory.wait_synced(timeout=1)
    assert pods.keys() == ["default/a"]
    assert sorted(c.name for c in sup.children) == sorted(i.name for i in factory.informers)
    await sup.stop()


async def test_shared_wait_synced_names_the_laggards() -> None:
    lw = FakeListWatcher()
    lw.list_failures = [ServiceUnavailable("down")] * 100
    factory = SharedInformers(lw, backoff_base=0.5)
    factory.informer("nodes")
    sup = Supervisor()
    factory.start(sup)
    with pytest.raises(Timeout, match="informer:nodes"):
        await factory.wait_synced(timeout=0.05)
    await sup.stop()


async def test_watch_list_mode_takes_the_snapshot_from_the_watch_and_redoes_it_after_errors() -> None:
    lw = FakeListWatcher()
    lw.create(pod("a"))
    lw.create(pod("b"))
    informer = Informer(lw, "pods", watch_list=True, backoff_base=0.01)
    rec = Recorder(informer)
    task = guarded_task("informer", informer.run())
    await informer.wait_synced(1)
    assert lw.list_calls == 0 and informer.lists == 1
    assert sorted(rec.seen) == [("add", "default/a", "1"), ("add", "default/b", "2")]
    lw.create(pod("c"))
    await eventually(lambda: informer.get("default/c") is not None)
    rec.seen.clear()
    lw.paused = True
    lw.delete("default/a")
    lw.paused = False
    lw.break_watches(ConnectionResetError("lost"))
    await eventually(lambda: informer.lists == 2, what="second snapshot")
    assert rec.seen == [("delete", "default/a", "1")]
    assert sorted(informer.keys()) == ["default/b", "default/c"]
    task.cancel()
    await asyncio.wait({task})


async def test_catch_up_waits_for_the_store_s_newest_revision() -> None:
    """A new leader's cache must reach what the store held when it took the lease."""

    class Latest(FakeListWatcher):
        async def latest_revision(self, resource: str, namespace: str | None = None) -> int:
            return self.revision

    lw = Latest()
    lw.create(pod("a"))
    informer = Informer(lw, "pods", backoff_base=0.01, backoff_cap=0.05)
    task = guarded_task("informer", informer.run())
    await informer.wait_synced(timeout=2)
    await eventually(lambda: lw.open_watches == 1, what="watch open")
    lw.paused = True  # the watch lags: writes land that the cache has not seen
    lw.create(pod("b"))
    assert not await informer.catch_up(timeout=0.2)
    lw.paused = False
    lw.create(pod("c"))  # the watch flows again, up to the newest revision
    assert await informer.catch_up(timeout=2)
    assert informer.revision == lw.revision and "default/c" in informer.keys()
    assert not await Informer(FakeListWatcher(), "pods").catch_up(timeout=0.1)  # cannot tell: no wait
    task.cancel()
