"""An in-memory stand-in for ``bus.client.ApiClient``, for the CLI's unit tests.

It keeps objects in a dict, sets uid/resourceVersion/creationTimestamp, applies patches with
schemas.patch and raises the same errors; it does no validation or defaulting (the api actor's
job, covered by the integration tests).
"""

from __future__ import annotations

import copy
import itertools
import uuid
from contextlib import asynccontextmanager
from typing import Any

from schemas.errors import AlreadyExists, Conflict, NotFound
from schemas.patch import apply_patch
from schemas.registry import lookup


class FakeApi:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.rev = itertools.count(1)
        self.calls: list[tuple[str, ...]] = []

    def _key(self, resource: str, namespace: str | None, name: str) -> tuple[str, str | None, str]:
        info = lookup(resource)
        return (info.plural, namespace if info.namespaced else None, name)

    def _missing(self, resource: str, name: str) -> NotFound:
        info = lookup(resource)
        what = info.plural + (f".{info.group}" if info.group else "")
        err = NotFound(f'{what} "{name}" not found')
        err.from_server = True
        return err

    def put(self, resource: str, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        info = lookup(resource)
        if info.namespaced:
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", "2024-01-01T00:00:00Z")
        meta["resourceVersion"] = str(next(self.rev))
        obj["apiVersion"] = info.api_version
        obj["kind"] = info.kind
        self.objects[self._key(resource, meta.get("namespace"), meta["name"])] = obj
        return copy.deepcopy(obj)

    async def create(
        self, resource: str, obj: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        self.calls.append(("create", resource))
        ns = namespace or (obj.get("metadata") or {}).get("namespace")
        key = self._key(resource, ns or "default", obj["metadata"]["name"])
        if key in self.objects:
            err = AlreadyExists(f'{key[0]} "{key[2]}" already exists')
            err.from_server = True
            raise err
        return self.put(resource, obj, ns)

    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        self.calls.append(("get", resource, name))
        obj = self.objects.get(self._key(resource, namespace, name))
        if obj is None:
            raise self._missing(resource, name)
        return copy.deepcopy(obj)

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> dict[str, Any]:
        info = lookup(resource)
        wanted = dict(p.split("=", 1) for p in label_selector.split(",")) if label_selector else {}
        items = []
        for (plural, ns, _name), obj in self.objects.items():
            if plural != info.plural or (namespace is not None and info.namespaced and ns != namespace):
                continue
            labels = obj["metadata"].get("labels") or {}
            if all(labels.get(k) == v for k, v in wanted.items()):
                items.append(copy.deepcopy(obj))
        return {
            "apiVersion": "v1",
            "kind": info.list_kind,
            "metadata": {"resourceVersion": "99"},
            "items": items,
        }

    async def update(
        self, resource: str, obj: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        meta = obj["metadata"]
        ns = namespace or meta.get("namespace")
        key = self._key(resource, ns, meta["name"])
        old = self.objects.get(key)
        if old is None:
            raise self._missing(resource, meta["name"])
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise Conflict("conflict")
        obj = copy.deepcopy(obj)
        obj["metadata"]["uid"] = old["metadata"]["uid"]
        obj["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        return self.put(resource, obj, ns)

    async def patch(
        self,
        resource: str,
        name: str,
        patch: Any,
        patch_type: str = "merge",
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        self.calls.append(("patch", resource, name, patch_type))
        old = await self.get(resource, name, namespace)
        new = apply_patch(old, patch, patch_type)
        return self.put(resource, new, namespace)

    async def delete(
        self,
        resource: str,
        name: str,
        namespace: str | None = None,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        *,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        self.calls.append(("delete", resource, name, str(grace_period_seconds), str(propagation_policy)))
        if subresource:
            self.calls.append(("delete-subresource", resource, name, subresource, ""))
        key = self._key(resource, namespace, name)
        if key not in self.objects:
            raise self._missing(resource, name)
        return self.objects.pop(key)

    async def watch(self, *args: Any, **kwargs: Any):  # pragma: no cover - not used by unit tests
        if False:
            yield None


def connector_for(api: FakeApi):
    @asynccontextmanager
    async def connect(server: str):
        yield api

    return connect
