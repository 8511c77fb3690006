"""The informer: a local, read-only, always-converging copy of one resource, with change handlers.

Lifecycle of :meth:`Informer.run` (an agent run under the supervisor):

1. **list** the resource: a snapshot at revision R. The cache is *replaced* by it: objects that
   appeared are reported to the handlers as adds, changed ones as updates, and objects the cache
   held that the snapshot lacks as deletes (synthetic: the delete happened while we were not
   watching, the handler gets the last state we knew). The informer is then *synced*.
2. **watch** from R: every change after the snapshot, in revision order, applied to the cache and
   reported to the handlers. A watch that ends cleanly is resumed from the last revision seen.
   With ``watch_list=True`` steps 1 and 2 are one call: a watch without a revision, which opens with
   the current objects (ADDED events, then a BOOKMARK at R). That suits sources that cannot resume
   from a revision, such as the kubelet's stream of its node's pods.
3. On a watch or list error (``Gone``: the store no longer holds our revision; or the connection
   dropped) go back to 1 after an exponential backoff (0.2 s doubling to 30 s, reset once a watch
   delivers events). Whatever changed in the gap comes out of the diff in step 1.

Duplicate or stale deliveries are harmless: an add/update whose revision is not newer than the
cached object's is ignored, and so is a late re-delivery of an object deleted since (a bounded set of
tombstones remembers recent deletions until the next list).

Handlers run synchronously inside the informer's loop, in event order; they must only look and
enqueue keys (``queue.add(key_of(obj))``), never await or write. A handler that raises is logged and
the others still run. A handler added after the initial sync is sent an add for every cached object.

:class:`SharedInformers` gives one informer per (resource, namespace, selectors) in a process, so
several controllers watching pods share one watch and one cache.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from actors.runtime.backoff import Backoff
from actors.runtime.cache import Cache, IndexFunc, key_of, revision_of
from actors.runtime.listwatch import ListWatcher, WatchEventLike
from bus.gcpause import gc_paused
from schemas.errors import Gone, InternalError, JetkubeError, Timeout, from_status

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
OnAdd = Callable[[Obj], None]
OnUpdate = Callable[[Obj, Obj], None]
OnDelete = Callable[[Obj], None]


_HANDLER_ATTR = {"add": "on_add", "update": "on_update", "delete": "on_delete"}


@dataclass(frozen=True)
class Handler:
    on_add: OnAdd | None = None
    on_update: OnUpdate | None = None
    on_delete: OnDelete | None = None


class Informer:
    """List-then-watch cache of one resource (optionally one namespace / selector)."""

    def __init__(
        self,
        lister_watcher: ListWatcher,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        *,
        backoff_base: float = 0.2,
        backoff_cap: float = 30.0,
        tombstone_limit: int = 10_000,
        watch_list: bool = False,
        compact: bool = False,
    ) -> None:
        self.lister_watcher = lister_watcher
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._tombstone_limit = tombstone_limit
        self.watch_list = watch_list
        # compact: objects kept as msgpack (see Cache), as the store's bytes where the source has them
        self._cache = Cache(compact=compact, loader=getattr(lister_watcher, "load", None))
        # A compact cache lists by streaming (a watch without a revision), so that the snapshot is
        # never held decoded; selectors need the list call (the store's watch does not filter).
        self.stream_list = compact and not (label_selector or field_selector)
        self._handlers: list[Handler] = []
        self._synced = asyncio.Event()
        self._revision = 0  # last revision seen: the list's, then each event's
        self._tombstones: dict[str, int] = {}  # key -> revision of its deletion, since the last list
        self.lists = 0  # how many times the resource was listed (1 + re-lists)

    @property
    def name(self) -> str:
        where = self.namespace or "*"
        sel = ",".join(s for s in (self.label_selector, self.field_selector) if s)
        return f"informer:{self.resource}/{where}" + (f"?{sel}" if sel else "")

    # -- reading ------------------------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        """The cached object under ``key`` ("ns/name" or "name"); read-only."""
        return self._cache.get(key)

    def list(self) -> list[Obj]:
        return self._cache.list()

    @property
    def objects(self) -> Mapping[str, Obj]:
        """Every cached object by key, live and read-only (no copy): for lookups per request."""
        return self._cache.view()

    def keys(self) -> builtins.list[str]:
        return self._cache.keys()

    def __len__(self) -> int:
        return len(self._cache)

    def add_index(self, name: str, fn: IndexFunc) -> None:
        """Maintain index ``name``: ``fn(obj)`` gives the values (str, list or None) obj is under."""
        self._cache.add_index(name, fn)

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        return self._cache.by_index(name, value)

    def index_keys(self, name: str, value: str) -> builtins.list[str]:
        return self._cache.index_keys(name, value)

    def index_values(self, name: str) -> builtins.list[str]:
        """The values index ``name`` holds objects under (KeyError if no such index)."""
        return self._cache.index_values(name)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    @property
    def revision(self) -> int:
        """The last revision the cache reflects."""
        return self._revision

    async def wait_synced(self, timeout: float | None = None) -> None:
        """Return once the first list is in the cache; :class:`Timeout` after ``timeout`` s."""
        try:
            async with asyncio.timeout(timeout):  # not wait_for: in 3.11 it can swallow a cancel
                await self._synced.wait()
        except TimeoutError:
            raise Timeout(f"{self.name} did not sync within {timeout} s") from None

    async def catch_up(self, timeout: float = 10.0, poll: float = 0.05) -> bool:
        """Wait until the cache reflects every change the store held when this was called (a new
        leader does, before acting: its watch may lag what the old leader wrote). ``False`` when
        the source cannot tell its newest revision, or the cache did not get there in ``timeout``."""
        latest = getattr(self.lister_watcher, "latest_revision", None)
        if latest is None:
            return False
        await self.wait_synced(timeout)
        try:
            target = int(await latest(self.resource, self.namespace))
        except JetkubeError as err:  # the store unreachable: the leader's writes fail anyway
            log.warning("informer.catch_up_failed", informer=self.name, error=str(err))
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._revision < target:
            if loop.time() >= deadline:
                log.warning("informer.catch_up_timeout", informer=self.name, at=self._revision, target=target)
                return False
            await asyncio.sleep(poll)
        return True

    # -- handlers -----------------------------------------------------------------------------

    def add_handler(
        self,
        on_add: OnAdd | None = None,
        on_update: OnUpdate | None = None,
        on_delete: OnDelete | None = None,
    ) -> Handler:
        handler = Handler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if self.synced and on_add is not None:
            for obj in self._cache.list():
                self._dispatch((handler,), "add", (obj,))
        return handler

    def remove_handler(self, handler: Handler) -> None:
        self._handlers.remove(handler)

    def _notify(self, kind: str, *args: Obj) -> None:
        self._dispatch(tuple(self._handlers), kind, args)

    def _dispatch(self, handlers: tuple[Handler, ...], kind: str, args: tuple[Obj, ...]) -> None:
        # once per object per handler (100,000 pods at a re-list): the loop is kept lean
        attr = _HANDLER_ATTR[kind]
        for handler in handlers:
            fn: Callable[..., None] | None = getattr(handler, attr)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception as exc:
                log.error("informer.handler_failed", informer=self.name, change=kind, exc_info=exc)

    # -- the agent ----------------------------------------------------------------------------

    async def run(self) -> None:
        """List, watch, and re-list after errors, forever (cancel to stop)."""
        need_list = True
        while True:
            try:
                if self.watch_list:
                    delivered = await self._watch(from_snapshot=True)
                else:
                    if need_list:
                        await self._list_and_replace()
                        need_list = False
                    delivered = await self._watch()
                if not delivered:  # a watch that ends at once, again and again, must not spin
                    await asyncio.sleep(self._backoff.next())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                need_list = True
                delay = self._backoff.next()
                if isinstance(exc, Gone):
                    log.info("informer.gone", informer=self.name, revision=self._revision, relist_in=delay)
                else:
                    log.warning(
                        "informer.watch_failed",
                        informer=self.name,
                        error=f"{type(exc).__name__}: {exc}",
                        relist_in=delay,
                    )
                await asyncio.sleep(delay)

    async def _list_and_replace(self) -> None:
        if self.stream_list:
            await self._stream_and_replace()
            return
        result = await self.lister_watcher.list(
            self.resource,
            namespace=self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        revision = int((result.get("metadata") or {}).get("resourceVersion") or 0)
        self.lists += 1
        self.replace(result.get("items") or [], revision)

    async def _stream_and_replace(self) -> None:
        """List as a watch without a revision (objects, then a BOOKMARK), applying each object as it
        comes: the snapshot is never held decoded all at once. The watch is then closed; ``_watch``
        follows on from the BOOKMARK's revision."""
        stream = self.lister_watcher.watch(self.resource, namespace=self.namespace, resource_version=None)
        seen: set[str] = set()
        try:
            async for event in stream:
                if event.type == "BOOKMARK":
                    self.lists += 1
                    self._end_replace(seen, event.revision)
                    return
                if event.type == "ERROR":
                    raise from_status(event.object)
                if event.type != "ADDED":
                    raise InternalError(f"{self.name}: {event.type} event inside the initial snapshot")
                self._replace_one(event.object, seen, getattr(event, "raw", None), event.revision)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        raise InternalError(f"{self.name}: the snapshot ended without a BOOKMARK")

    def replace(self, items: builtins.list[Obj], revision: int) -> None:
        """Make the cache equal ``items`` (a snapshot at ``revision``), reporting the differences."""
        with gc_paused():  # bulk work: 100,000 pods would trigger collections over all of them
            seen: set[str] = set()
            for obj in items:
                self._replace_one(obj, seen)
            self._end_replace(seen, revision)

    def _replace_one(self, obj: Obj, seen: set[str], raw: bytes | None = None, revision: int = 0) -> None:
        """One object of a snapshot: cache it, reporting an add, or an update if it changed."""
        key = key_of(obj)
        seen.add(key)
        old = self._cache.put(key, obj, raw=raw, revision=revision)
        if old is None:
            self._notify("add", obj)
        elif old is not obj and revision_of(old) != revision_of(obj):
            self._notify("update", old, obj)

    def _end_replace(self, seen: set[str], revision: int) -> None:
        """The snapshot is complete: what it lacked was deleted while we were not watching."""
        for key in self._cache.keys():
            if key not in seen:
                old = self._cache.pop(key)
                if old is not None:
                    self._notify("delete", old)
        self._tombstones.clear()
        self._revision = revision
        first = not self._synced.is_set()
        self._synced.set()
        log.info("informer.listed", informer=self.name, objects=len(seen), revision=revision, first=first)

    async def _watch(self, *, from_snapshot: bool = False) -> int:
        """Follow the watch from the last revision; return how many events it delivered.

        ``from_snapshot``: watch without a revision, so the stream opens with the current objects
        (ADDED ... BOOKMARK), which replace the cache as a list would.
        """
        stream = self.lister_watcher.watch(
            self.resource,
            namespace=self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            resource_version=None if from_snapshot else str(self._revision),
        )
        delivered = 0
        snapshot: set[str] | None = set() if from_snapshot else None  # the keys seen so far
        try:
            async for event in stream:
                if snapshot is not None:
                    if event.type == "BOOKMARK":
                        self.lists += 1
                        self._end_replace(snapshot, event.revision)
                        snapshot = None
                    elif event.type == "ADDED":
                        self._replace_one(event.object, snapshot, getattr(event, "raw", None), event.revision)
                    elif event.type == "ERROR":
                        raise from_status(event.object)
                    else:
                        raise InternalError(f"{self.name}: {event.type} event inside the initial snapshot")
                else:
                    self.apply(event)
                if delivered == 0:
                    self._backoff.reset()
                delivered += 1
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        log.debug("informer.watch_ended", informer=self.name, events=delivered, revision=self._revision)
        return delivered

    def apply(self, event: WatchEventLike) -> None:
        """Apply one watch event to the cache and tell the handlers (stale events are dropped)."""
        kind = event.type
        obj = event.object
        if kind == "ERROR":
            raise from_status(obj)
        if event.revision:
            self._revision = max(self._revision, event.revision)
        if kind == "BOOKMARK":
            return
        key = key_of(obj)
        cached = self._cache.get(key)
        cached_rev = revision_of(cached) if cached is not None else self._tombstones.get(key)
        if kind in ("ADDED", "MODIFIED"):
            rev = event.revision or revision_of(obj)
            if rev is not None and cached_rev is not None and rev <= cached_rev:
                log.debug(
                    "informer.stale_event", informer=self.name, key=key, revision=rev, cached=cached_rev
                )
                return
            self._tombstones.pop(key, None)
            self._cache.put(key, obj, raw=getattr(event, "raw", None), revision=event.revision, old=cached)
            if cached is None:
                self._notify("add", obj)
            else:
                self._notify("update", cached, obj)
        elif kind == "DELETED":
            if cached is None:
                return
            obj_rev = revision_of(obj)
            if cached_rev is not None and (
                (event.revision and event.revision <= cached_rev)
                or (obj_rev is not None and obj_rev < cached_rev)
            ):
                log.debug("informer.stale_delete", informer=self.name, key=key, revision=event.revision)
                return
            self._cache.pop(key)
            self._tombstones[key] = event.revision or obj_rev or cached_rev or 0
            if len(self._tombstones) > self._tombstone_limit:
                del self._tombstones[next(iter(self._tombstones))]
            self._notify("delete", cached if not obj else obj)
        else:
            log.warning("informer.unknown_event", informer=self.name, type=kind)
