"""In-memory stand-ins for the runtime's tests: a ListWatcher, a CAS lease store, a poll helper."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

from actors.runtime.cache import key_of
from actors.runtime.listwatch import Event
from schemas.errors import AlreadyExists, Conflict, Gone, ServiceUnavailable

Obj = dict[str, Any]


async def eventually(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``cond`` until true; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)


def pod(name: str, namespace: str | None = "default", **spec: Any) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"kind": "Pod", "metadata": meta, "spec": dict(spec)}


class FakeListWatcher:
    """One resource's objects with a global revision counter, like the KV bucket.

    ``paused`` holds events back from watchers (a network partition); ``compact()`` forgets the
    history so watching from an old revision raises Gone; ``break_watches(exc)`` makes every open
    watch raise; ``inject(event)`` sends a raw (duplicate, stale) event to open watches.
    """

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.revision = 0
        self.history: list[Event] = []
        self.compacted = 0
        self.paused = False
        self.list_calls = 0
        self.list_failures: list[Exception] = []
        self.watch_calls: list[int] = []
        self._watchers: list[asyncio.Queue[Event | Exception]] = []

    # -- mutations ----------------------------------------------------------------------------

    def _commit(self, kind: str, obj: Obj) -> Obj:
        self.revision += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.revision)
        key = key_of(obj)
        if kind == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        event = Event(kind, obj, self.revision)
        self.history.append(event)
        if not self.paused:
            for queue in self._watchers:
                queue.put_nowait(event)
        return obj

    def create(self, obj: Obj) -> Obj:
        return self._commit("ADDED", obj)

    def update(self, obj: Obj) -> Obj:
        return self._commit("MODIFIED", obj)

    def delete(self, key: str) -> Obj:
        return self._commit("DELETED", self.objects[key])

    def inject(self, event: Event) -> None:
        for queue in self._watchers:
            queue.put_nowait(event)

    def break_watches(self, exc: Exception) -> None:
        for queue in self._watchers:
            queue.put_nowait(exc)

    def compact(self) -> None:
        self.compacted = self.revision

    @property
    def open_watches(self) -> int:
        return len(self._watchers)

    # -- the ListWatcher interface ------------------------------------------------------------

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Obj:
        self.list_calls += 1
        if self.list_failures:
            raise self.list_failures.pop(0)
        items = [copy.deepcopy(o) for o in self.objects.values()]
        if namespace:
            items = [o for o in items if o["metadata"].get("namespace") == namespace]
        return {"metadata": {"resourceVersion": str(self.revision)}, "items": items}

    async def watch(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | int | None = None,
    ) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event | Exception] = asyncio.Queue()
        if resource_version is None:  # watch-list: the current objects, a BOOKMARK, then changes
            start = self.revision
            self.watch_calls.append(-1)
            for obj in self.objects.values():
                queue.put_nowait(Event("ADDED", copy.deepcopy(obj), int(obj["metadata"]["resourceVersion"])))
            queue.put_nowait(Event("BOOKMARK", {}, start))
        else:
            start = int(resource_version or 0)
            self.watch_calls.append(start)
            if start < self.compacted:
                raise Gone(f"revision {start} is compacted (oldest kept {self.compacted})")
        for event in self.history:
            if event.revision > start:
                queue.put_nowait(event)
        self._watchers.append(queue)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, Exception):
                    raise item
                if namespace and item.object.get("metadata", {}).get("namespace", namespace) != namespace:
                    continue
                yield item
        finally:
            self._watchers.remove(queue)


class MemoryLeases:
    """A compare-and-set store of lease objects, shared by several :class:`LeaseView`."""

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.revision = 0


class LeaseView:
    """One elector's connection to :class:`MemoryLeases`; ``down`` makes every call fail."""

    def __init__(self, leases: MemoryLeases) -> None:
        self.leases = leases
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ServiceUnavailable("lease store unreachable (test)")

    async def get(self, name: str) -> Obj | None:
        self._check()
        obj = self.leases.objects.get(name)
        return copy.deepcopy(obj) if obj is not None else None

    async def create(self, obj: Obj) -> Obj:
        self._check()
        name = obj["metadata"]["name"]
        if name in self.leases.objects:
            raise AlreadyExists(f'leases "{name}" already exists')
        return self._write(name, obj)

    async def update(self, obj: Obj) -> Obj:
        self._check()
        name = obj["metadata"]["name"]
        current = self.leases.objects.get(name)
        if current is None or current["metadata"]["resourceVersion"] != obj["metadata"].get(
            "resourceVersion"
        ):
            raise Conflict(f'leases "{name}": the object has been modified')
        return self._write(name, obj)

    def _write(self, name: str, obj: Obj) -> Obj:
        self.leases.revision += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.leases.revision)
        self.leases.objects[name] = obj
        return copy.deepcopy(obj)
