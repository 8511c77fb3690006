"""A compact informer against an in-memory ListWatcher: it lists by streaming a snapshot (a watch
without a revision: ADDED ... BOOKMARK) into its cache, then watches on from the BOOKMARK."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.runtime.cache import DecodingView, by_node_name
from actors.runtime.informer import Informer
from actors.runtime.listwatch import Event
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import guarded_task
from schemas.errors import Gone
from tests.unit.runtime.fakes import FakeListWatcher, eventually, pod
from tests.unit.runtime.test_informer import Recorder

MODES = [
    pytest.param({"compact": True}, id="stream-list"),
    pytest.param({"compact": True, "watch_list": True}, id="watch-list"),
]


class CutSnapshots(FakeListWatcher):
    """``cut`` is how many of the next snapshot streams end early: after ``keep`` of their objects,
    without a BOOKMARK (``error``: with an ERROR event instead)."""

    def __init__(self) -> None:
        super().__init__()
        self.cut = 0
        self.keep = 1
        self.error: dict[str, Any] | None = None

    async def watch(self, resource: str, *args: Any, **kw: Any) -> AsyncIterator[Event]:
        if kw.get("resource_version") is not None or not self.cut:
            async for event in super().watch(resource, *args, **kw):
                yield event
            return
        self.cut -= 1
        self.watch_calls.append(-1)
        for obj in list(self.objects.values())[: self.keep]:
            yield Event("ADDED", copy.deepcopy(obj), int(obj["metadata"]["resourceVersion"]))
        if self.error is not None:
            yield Event("ERROR", self.error)


async def start(informer: Informer) -> asyncio.Task[None]:
    task = guarded_task("informer", informer.run())
    await informer.wait_synced(timeout=2)
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait({task})


async def test_compact_informer_lists_by_streaming_and_watches_on_from_the_bookmark() -> None:
    lw = FakeListWatcher()
    lw.create(pod("a", nodeName="n1"))  # rv 1
    lw.create(pod("b", nodeName="n2"))  # rv 2
    lw.create(pod("gone"))  # rv 3
    lw.delete("default/gone")  # rv 4: the snapshot's revision is past every object in it
    informer = Informer(lw, "pods", compact=True, backoff_base=0.01, backoff_cap=0.05)
    informer.add_index("node", by_node_name)
    rec = Recorder(informer)
    task = await start(informer)
    try:
        assert informer.stream_list and lw.list_calls == 0 and informer.lists == 1
        assert sorted(rec.seen) == [("add", "default/a", "1"), ("add", "default/b", "2")]
        assert informer.revision == 4
        await eventually(lambda: lw.watch_calls == [-1, 4], what="the watch from the BOOKMARK")
        assert lw.open_watches == 1  # the snapshot's stream was closed
        assert isinstance(informer.objects, DecodingView)
        assert informer.get("default/a") == lw.objects["default/a"]

        rec.seen.clear()
        a = copy.deepcopy(lw.objects["default/a"])
        a["spec"]["nodeName"] = "n2"
        lw.update(a)  # rv 5
        lw.create(pod("c"))  # rv 6
        lw.delete("default/b")  # rv 7
        await eventually(lambda: len(rec.seen) == 3, what="three events after the BOOKMARK")
        assert rec.seen == [
            ("update", "default/a", "5"),
            ("add", "default/c", "6"),
            ("delete", "default/b", "7"),
        ]
        assert sorted(informer.keys()) == ["default/a", "default/c"]
        assert informer.index_keys("node", "n2") == ["default/a"] and informer.index_keys("node", "n1") == []
        assert informer.revision == 7 and lw.list_calls == 0
    finally:
        await stop(task)


@pytest.mark.parametrize("options", [pytest.param({}, id="list"), *MODES])
async def test_a_relisted_snapshot_reports_what_it_lacks_as_deleted_and_keeps_the_rest(
    options: dict[str, Any],
) -> None:
    lw = FakeListWatcher()
    for name in ("a", "b", "c"):
        lw.create(pod(name, nodeName="n1"))  # rv 1-3
    informer = Informer(lw, "pods", backoff_base=0.01, backoff_cap=0.05, **options)
    informer.add_index("node", by_node_name)
    rec = Recorder(informer)
    task = await start(informer)
    try:
        await eventually(lambda: lw.open_watches == 1, what="watch open")
        rec.seen.clear()
        lw.paused = True  # this informer sees none of these
        lw.delete("default/b")  # rv 4
        a = copy.deepcopy(lw.objects["default/a"])
        a["spec"]["nodeName"] = "n2"
        lw.update(a)  # rv 5
        lw.create(pod("d", nodeName="n1"))  # rv 6
        lw.compact()
        lw.paused = False
        lw.break_watches(Gone("watch expired"))
        await eventually(lambda: informer.lists == 2 and len(rec.seen) == 3, what="the re-list")
        assert sorted(rec.seen) == [
            ("add", "default/d", "6"),
            ("delete", "default/b", "2"),  # the last state the informer knew
            ("update", "default/a", "5"),
        ]
        assert sorted(informer.keys()) == ["default/a", "default/c", "default/d"]
        assert informer.get("default/c") == lw.objects["default/c"]
        assert informer.get("default/a")["spec"]["nodeName"] == "n2"
        assert informer.index_keys("node", "n1") == ["default/c", "default/d"]
        assert informer.index_keys("node", "n2") == ["default/a"]
        assert informer.revision == 6
        assert lw.list_calls == (0 if options else 2)  # a compact informer lists by streaming
        rec.seen.clear()
        lw.create(pod("e"))  # and the watch after the re-list follows on
        await eventually(lambda: rec.seen == [("add", "default/e", "7")], what="an event after the re-list")
    finally:
        await stop(task)


@pytest.mark.parametrize("error", [None, {"code": 410, "reason": "Expired", "message": "too old"}])
async def test_a_snapshot_stream_that_ends_without_a_bookmark_is_not_a_list(
    error: dict[str, Any] | None,
) -> None:
    lw = CutSnapshots()
    for name in ("a", "b", "c"):
        lw.create(pod(name))  # rv 1-3
    lw.cut, lw.error = 1, error  # the first snapshot stops after "a"
    informer = Informer(lw, "pods", compact=True, backoff_base=0.01, backoff_cap=0.05)
    rec = Recorder(informer)
    task = await start(informer)  # synced only by the second, whole, snapshot
    try:
        assert lw.watch_calls[:2] == [-1, -1] and informer.lists == 1
        assert sorted(informer.keys()) == ["default/a", "default/b", "default/c"]
        assert sorted(rec.seen) == [
            ("add", "default/a", "1"),
            ("add", "default/b", "2"),
            ("add", "default/c", "3"),
        ]
        await eventually(lambda: lw.open_watches == 1, what="watch open")

        # once synced: a cut re-list (it lacks b and c) deletes nothing; the next whole one is used
        rec.seen.clear()
        lw.paused = True
        lw.create(pod("d"))  # rv 4
        lw.paused = False
        lw.cut = 2
        lw.break_watches(ConnectionResetError("lost"))
        await eventually(
            lambda: informer.lists == 2 and lw.open_watches == 1, what="the re-list after two cut snapshots"
        )
        assert lw.watch_calls[-4:] == [-1, -1, -1, 4] and lw.cut == 0
        assert rec.seen == [("add", "default/d", "4")]
        assert sorted(informer.keys()) == ["default/a", "default/b", "default/c", "default/d"]
        assert informer.revision == 4
    finally:
        await stop(task)


async def test_a_cut_first_snapshot_does_not_sync() -> None:
    lw = CutSnapshots()
    lw.create(pod("a"))
    lw.create(pod("b"))
    lw.cut = 1_000  # every snapshot is cut
    informer = Informer(lw, "pods", compact=True, backoff_base=0.01, backoff_cap=0.02)
    task = guarded_task("informer", informer.run())
    try:
        await eventually(lambda: len(lw.watch_calls) >= 3, what="repeated snapshots")
        assert not informer.synced and informer.lists == 0
    finally:
        await stop(task)


async def test_selectors_keep_the_list_call_and_shared_informers_make_pods_compact() -> None:
    lw = FakeListWatcher()
    lw.create(pod("a"))
    informer = Informer(lw, "pods", label_selector="app=web", compact=True, backoff_base=0.01)
    assert not informer.stream_list  # the store's watch does not filter: a stream would not do
    task = await start(informer)
    try:
        assert lw.list_calls == 1 and lw.watch_calls[0] == 1
        assert isinstance(informer.objects, DecodingView)
    finally:
        await stop(task)
    shared = SharedInformers(lw)
    assert shared.informer("pods").stream_list and not shared.informer("nodes").stream_list
    assert not SharedInformers(lw, compact=frozenset()).informer("pods").stream_list
