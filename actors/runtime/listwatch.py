"""What an informer reads from: the ``ListWatcher`` interface, and an adapter for the bare Store.

An informer needs two calls, shaped like the api client's (docs/CONTRACTS.md):

- ``await list(resource, namespace=None, label_selector=None, field_selector=None)`` returning a
  list object ``{"metadata": {"resourceVersion": "R"}, "items": [...]}``, a snapshot at revision R;
- ``watch(resource, namespace=None, label_selector=None, field_selector=None, resource_version=R)``,
  an async iterator of events (``type``, ``object``, ``revision``) of every change after R. It raises
  :class:`~schemas.errors.Gone` when R is older than what the store keeps.

:class:`bus.client.ApiClient` is a ListWatcher as it is. :class:`StoreListWatcher` adapts
:class:`bus.store.Store` (which lists as ``(items, revision)`` and watches ``from_revision``) for the
actors that sit next to the KV bucket, such as the api actor itself. Tests use an in-memory one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bus.interfaces import ObjectApi, ObjectStore


@runtime_checkable
class WatchEventLike(Protocol):
    """Duck type of ``bus``'s ``WatchEvent``: ADDED / MODIFIED / DELETED / BOOKMARK (read-only)."""

    @property
    def type(self) -> str: ...

    @property
    def object(self) -> dict[str, Any]: ...

    @property
    def revision(self) -> int: ...


@dataclass(frozen=True)
class Event:
    """A watch event, for ListWatchers that build their own (adapters, tests)."""

    type: str
    object: dict[str, Any]
    revision: int = 0


class ListWatcher(Protocol):
    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> dict[str, Any]: ...

    def watch(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | int | None = None,
    ) -> AsyncIterator[WatchEventLike]: ...


Matcher = Callable[[dict[str, Any], str | None, str | None], bool]


class StoreListWatcher:
    """Presents a ``bus.store.Store`` as a :class:`ListWatcher`.

    The store's watch has no selectors. When the informer asks for some, events are filtered here
    with ``matches(obj, label_selector, field_selector)`` (by default :func:`selector_matches`, the
    selector rules of ``schemas.labels`` that the store's list uses); an object that stops matching
    is reported DELETED, as Kubernetes' filtered watches do.
    """

    def __init__(self, store: ObjectStore, matches: Matcher | None = None) -> None:
        self.store = store
        self.matches = matches or selector_matches

    def load(self, raw: bytes, revision: int) -> dict[str, Any]:
        """An object from an event's stored bytes (``event.raw``): a compact cache keeps those."""
        obj: dict[str, Any] = self.store.load(raw, revision)
        return obj

    async def latest_revision(self, resource: str, namespace: str | None = None) -> int:
        """The newest revision of the resource in the store (a new leader's caches catch up to it)."""
        return int(await self.store.latest_revision(resource, namespace))

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> dict[str, Any]:
        items, revision = await self.store.list(
            resource, namespace=namespace, label_selector=label_selector, field_selector=field_selector
        )
        return {"metadata": {"resourceVersion": str(revision)}, "items": items}

    async def watch(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | int | None = None,
    ) -> AsyncIterator[WatchEventLike]:
        start = int(resource_version) if resource_version not in (None, "") else None
        matches = self.matches if (label_selector or field_selector) else None
        async for event in self.store.watch(resource, namespace=namespace, from_revision=start):
            if matches is not None and event.type in ("ADDED", "MODIFIED"):
                if not matches(event.object, label_selector, field_selector):
                    # the informer ignores deletes of keys it does not hold
                    yield Event("DELETED", event.object, event.revision)
                    continue
            yield event


def selector_matches(obj: dict[str, Any], label_selector: str | None, field_selector: str | None) -> bool:
    """Whether ``obj`` matches the selectors, by the same rules as the store's list."""
    from schemas.labels import matches_fields, parse_field_selector, parse_selector

    if label_selector and not parse_selector(label_selector).matches(
        (obj.get("metadata") or {}).get("labels") or {}
    ):
        return False
    return not (field_selector and not matches_fields(obj, parse_field_selector(field_selector)))


class NodePodsListWatcher:
    """The kubelet's source: only the pods bound to one node, from ``ApiClient.watch_node_pods``.

    That stream cannot start at a revision; it opens with the node's pods and a BOOKMARK. Use it as
    ``Informer(NodePodsListWatcher(api, node), "pods", watch_list=True)``.
    """

    def __init__(self, api: ObjectApi, node_name: str) -> None:
        self.api = api
        self.node_name = node_name

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> dict[str, Any]:
        listing: dict[str, Any] = await self.api.pods_on_node(self.node_name)
        return listing

    def watch(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | int | None = None,
    ) -> AsyncIterator[WatchEventLike]:
        stream: AsyncIterator[WatchEventLike] = self.api.watch_node_pods(self.node_name)
        return stream
