"""The garbage collector's reconcile against filled caches and a recording fake api: exact calls."""

from __future__ import annotations

from typing import Any

from actors.gc.controller import GarbageCollector
from actors.runtime.shared import SharedInformers
from schemas.errors import NotFound


class FakeApi:
    """Records writes; ``get`` answers from ``live`` (what the store holds right now)."""

    def __init__(self, live: dict[tuple[str, str | None, str], dict[str, Any]] | None = None) -> None:
        self.live = live or {}
        self.calls: list[tuple[Any, ...]] = []

    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        obj = self.live.get((resource, namespace, name))
        if obj is None:
            raise NotFound(f'{resource} "{name}" not found')
        return obj

    async def delete(self, resource: str, name: str, namespace: str | None = None, **kw: Any) -> dict:
        self.calls.append(
            ("delete", resource, namespace, name, kw["propagation_policy"], kw["resource_version"])
        )
        return {}

    async def update(self, resource: str, obj: dict[str, Any], namespace: str | None = None) -> dict:
        self.calls.append(("update", resource, namespace, obj["metadata"]["name"]))
        return obj

    async def list(self, *a: Any, **kw: Any) -> dict:  # informers are filled by hand here
        return {"metadata": {"resourceVersion": "0"}, "items": []}

    def watch(self, *a: Any, **kw: Any) -> Any:
        raise NotImplementedError


RS = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {"name": "rs", "namespace": "default", "uid": "rs-1", "resourceVersion": "3"},
}
POD = {
    "metadata": {
        "name": "p",
        "namespace": "default",
        "uid": "p-1",
        "resourceVersion": "9",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs-1"}],
    }
}


def collector(api: FakeApi, pods: list[dict], replicasets: list[dict]) -> GarbageCollector:
    informers = SharedInformers(api)
    gc = GarbageCollector(api, informers)
    informers.informer("pods").replace(pods, 10)
    informers.informer("replicasets").replace(replicasets, 10)
    return gc


async def test_owner_missing_from_cache_but_alive_is_not_collected() -> None:
    api = FakeApi(live={("replicasets", "default", "rs"): RS})
    gc = collector(api, [POD], [])  # the replicaset informer lags
    await gc.reconcile("pods|default/p")
    assert api.calls == []


async def test_owner_gone_dependent_deleted_with_its_revision() -> None:
    api = FakeApi()
    gc = collector(api, [POD], [])
    await gc.reconcile("pods|default/p")
    assert api.calls == [("delete", "pods", "default", "p", "Background", "9")]


async def test_owner_recreated_with_new_uid_is_absent() -> None:
    api = FakeApi(
        live={("replicasets", "default", "rs"): {**RS, "metadata": {**RS["metadata"], "uid": "rs-2"}}}
    )
    gc = collector(api, [POD], [])
    await gc.reconcile("pods|default/p")
    assert api.calls == [("delete", "pods", "default", "p", "Background", "9")]


async def test_owner_in_cache_no_live_read() -> None:
    api = FakeApi()  # a live read would say NotFound
    gc = collector(api, [POD], [RS])
    await gc.reconcile("pods|default/p")
    assert api.calls == []


async def test_orphaning_owner_detaches_then_finalizes() -> None:
    deleting = {
        **RS,
        "metadata": {**RS["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["orphan"]},
    }
    api = FakeApi()
    gc = collector(api, [POD], [deleting])
    await gc.reconcile("replicasets|default/rs")
    assert api.calls == [("update", "pods", "default", "p")]
    api.calls.clear()
    gc2 = collector(api, [], [deleting])
    await gc2.reconcile("replicasets|default/rs")
    assert api.calls == [("update", "replicasets", "default", "rs")]
