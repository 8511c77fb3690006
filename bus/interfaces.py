"""What the actors need of the api client and of the store, as typed protocols.

The kubelet, the actor runtime and the hollow nodes take these instead of ``Any``, so mypy checks
every call they make against one signature, and a test (or a hollow fleet) may pass anything that
has the same methods. :class:`bus.client.ApiClient` is an :class:`ObjectApi`;
:class:`bus.store.Store` (and the api's ``EncryptingStore``) an :class:`ObjectStore`. Note that the
two ``get``/``delete`` differ in argument order, as the two classes always have: the api client
puts the name first (``get(resource, name, namespace)``), the store the namespace
(``get(resource, namespace, name)``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Protocol

from bus.store import WatchEvent

Obj = dict[str, Any]


class ObjectApi(Protocol):
    """The api's verbs, as the api client sends them (authorized as the caller)."""

    async def create(
        self, resource: str, obj: Obj, namespace: str | None = None, *, dry_run: bool = False
    ) -> Obj: ...

    async def get(self, resource: str, name: str, namespace: str | None = None) -> Obj: ...

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Obj: ...

    async def update(self, resource: str, obj: Obj, namespace: str | None = None) -> Obj: ...

    async def update_status(self, resource: str, obj: Obj, namespace: str | None = None) -> Obj: ...

    async def patch(
        self,
        resource: str,
        name: str,
        patch: Any,
        patch_type: str = "merge",
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> Obj: ...

    async def delete(
        self,
        resource: str,
        name: str,
        namespace: str | None = None,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        resource_version: str | None = None,
    ) -> Obj: ...

    async def pods_on_node(self, node_name: str) -> Obj: ...

    def watch_node_pods(
        self, node_name: str, *, resync_seconds: float = ..., tick: float = ...
    ) -> AsyncGenerator[WatchEvent, None]: ...


class ObjectStore(Protocol):
    """The state bucket's typed CRUD and watch (compare-and-set writes; trusted callers only)."""

    def load(self, raw: bytes | None, revision: int) -> Obj: ...

    async def get(self, resource: str, namespace: str | None, name: str) -> Obj: ...

    async def latest_revision(self, resource: str, namespace: str | None = None) -> int: ...

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], int]: ...

    def watch(
        self, resource: str, namespace: str | None = None, from_revision: int | None = None
    ) -> AsyncGenerator[WatchEvent, None]: ...

    async def create(self, resource: str, obj: Obj) -> Obj: ...

    async def update(self, resource: str, obj: Obj, *, old: Obj | None = None) -> Obj: ...
