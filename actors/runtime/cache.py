"""The informer's cache: objects by key, plus secondary indexes (pods by node, by owner ...).

A key is ``"namespace/name"``, or ``"name"`` for cluster-scoped objects (client-go's
``MetaNamespaceKeyFunc``). An index function maps an object to the index values it belongs under
(a string, a list of strings, or None); :meth:`Cache.by_index` returns the objects under one value.

Cached objects are shared and read-only: ``copy.deepcopy`` one before changing it.

A *compact* cache (``Cache(compact=True)``, used for pods) keeps each object as its msgpack bytes
and decodes it on every read: a pod is ~0.9 KB that way against ~5 KB as Python dicts, which is
what lets one process hold 100,000 of them. Reads then cost a decode (~4 µs a pod) and give a fresh
dict each time (changing it changes nothing cached); indexes are kept decoded, as they are queried.
Given a ``loader``, a put may hand over the bytes the object was read from (``raw`` and its
``revision``, as the store's watch events carry them), kept as they are: no encoding at all.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import structlog

from bus.codec import decode, encode

log = structlog.get_logger(__name__)

IndexFunc = Callable[[dict[str, Any]], str | Iterable[str] | None]


def key_of(obj: dict[str, Any]) -> str:
    """``"ns/name"`` for a namespaced object, ``"name"`` for a cluster-scoped one."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    name = meta.get("name", "")
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str | None, str]:
    """``"ns/name"`` -> ``("ns", "name")``; ``"name"`` -> ``(None, "name")``."""
    namespace, sep, name = key.partition("/")
    return (namespace, name) if sep else (None, key)


def revision_of(obj: dict[str, Any]) -> int | None:
    """``metadata.resourceVersion`` as an int, or None when it is missing or not a number."""
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    try:
        return int(rv) if rv not in (None, "") else None
    except (TypeError, ValueError):
        return None


NODE_INDEX = "nodeName"  # the usual name of the by_node_name index on pods


def by_node_name(obj: dict[str, Any]) -> str | None:
    """Index function: a pod's ``spec.nodeName``."""
    return (obj.get("spec") or {}).get("nodeName") or None


def by_owner_uid(obj: dict[str, Any]) -> list[str]:
    """Index function: the uids of an object's ``metadata.ownerReferences``."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [ref["uid"] for ref in refs if ref.get("uid")]


def by_namespace(obj: dict[str, Any]) -> str | None:
    """Index function: ``metadata.namespace``."""
    return (obj.get("metadata") or {}).get("namespace") or None


_NONE: tuple[str, ...] = ()


def _values(fn: IndexFunc, obj: dict[str, Any]) -> Iterable[str]:
    """The distinct values ``fn`` puts ``obj`` under (called per object per index: kept lean)."""
    try:
        out = fn(obj)
    except Exception as exc:  # a buggy index function must not break the cache
        log.error("cache.index_failed", key=key_of(obj), exc_info=exc)
        return _NONE
    if out is None:
        return _NONE
    if isinstance(out, str):
        return (out,)
    return set(out)


Loader = Callable[[bytes, int], dict[str, Any]]  # (stored bytes, revision) -> the object


class DecodingView(Mapping[str, dict[str, Any]]):
    """A compact cache's objects by key, live and read-only: each read decodes."""

    def __init__(self, items: Mapping[str, Any], load: Callable[[Any], dict[str, Any]]) -> None:
        self._items = items
        self._load = load

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self._load(self._items[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items


class Cache:
    """Objects by key with secondary indexes kept in step on every change."""

    def __init__(self, *, compact: bool = False, loader: Loader | None = None) -> None:
        self.compact = compact
        self.loader = loader
        # the objects; when compact, their msgpack bytes, or (raw, revision) for the loader
        self._items: dict[str, Any] = {}
        self._index_funcs: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}

    def _load(self, stored: Any) -> dict[str, Any]:
        if not self.compact:
            return stored
        if type(stored) is tuple:
            assert self.loader is not None
            return self.loader(*stored)
        return decode(stored)

    def get(self, key: str) -> dict[str, Any] | None:
        stored = self._items.get(key)
        return None if stored is None else self._load(stored)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return list(self._items)

    def list(self) -> list[dict[str, Any]]:
        if self.compact:
            return [self._load(v) for v in self._items.values()]
        return list(self._items.values())

    def items(self) -> builtins.list[tuple[str, dict[str, Any]]]:
        if self.compact:
            return [(k, self._load(v)) for k, v in self._items.items()]
        return list(self._items.items())

    def view(self) -> Mapping[str, dict[str, Any]]:
        """The objects by key, live and read-only (no copy)."""
        if self.compact:
            return DecodingView(self._items, self._load)
        return MappingProxyType(self._items)

    def put(
        self,
        key: str,
        obj: dict[str, Any],
        *,
        raw: bytes | None = None,
        revision: int = 0,
        old: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Store ``obj`` under ``key``; return the object it replaced.

        ``raw``/``revision``: the bytes ``obj`` was read from (kept as they are by a compact cache
        with a loader). ``old``: the object now under ``key``, when the caller has just read it
        (saves a compact cache decoding it again)."""
        if not self.compact:
            new: Any = obj
        elif raw is not None and self.loader is not None:
            new = (raw, revision)
        else:
            new = encode(obj)  # first: an object that cannot be encoded changes nothing
        stored = self._items.get(key)
        if stored is None:
            old = None
        elif old is None or not self.compact:
            old = self._load(stored)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = new
        self._index(key, obj)
        return old

    def pop(self, key: str) -> dict[str, Any] | None:
        stored = self._items.pop(key, None)
        old = None if stored is None else self._load(stored)
        if old is not None:
            self._unindex(key, old)
        return old

    def add_index(self, name: str, fn: IndexFunc) -> None:
        """Register index ``name`` and build it over the objects already cached."""
        self._index_funcs[name] = fn
        self._indices[name] = {}
        for key, stored in self._items.items():
            self._index_one(name, fn, key, self._load(stored))

    def index_keys(self, name: str, value: str) -> builtins.list[str]:
        """Keys of the objects under ``value`` in index ``name`` (KeyError if no such index)."""
        return sorted(self._indices[name].get(value, ()))

    def by_index(self, name: str, value: str) -> builtins.list[dict[str, Any]]:
        return [self._load(self._items[k]) for k in self.index_keys(name, value)]

    def index_values(self, name: str) -> builtins.list[str]:
        return list(self._indices[name])

    def _index(self, key: str, obj: dict[str, Any]) -> None:
        for name, fn in self._index_funcs.items():
            self._index_one(name, fn, key, obj)

    def _index_one(self, name: str, fn: IndexFunc, key: str, obj: dict[str, Any]) -> None:
        index = self._indices[name]
        for value in _values(fn, obj):
            index.setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: dict[str, Any]) -> None:
        for name, fn in self._index_funcs.items():
            index = self._indices[name]
            for value in _values(fn, obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
