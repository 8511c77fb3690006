"""The official Python client (PyPI ``kubernetes``) against the gateway, configured from the
kubeconfig ``jetkube up`` writes: list, create, patch, replace with a stale revision, watch, delete.

The client is synchronous and the gateway runs in this test's event loop, so every call goes
through ``asyncio.to_thread``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tests.integration.gateway.conftest import Cluster
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio

kubernetes = pytest.importorskip("kubernetes")


def _core(cluster: Cluster) -> Any:
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=cluster.env["KUBECONFIG"])
    return client.CoreV1Api(api_client)


async def test_list_create_patch_conflict_delete(cluster: Cluster) -> None:
    from kubernetes.client import V1ConfigMap, V1ObjectMeta
    from kubernetes.client.exceptions import ApiException

    core = _core(cluster)
    namespaces = await asyncio.to_thread(core.list_namespace)
    assert {"default", "kube-system"} <= {n.metadata.name for n in namespaces.items}

    body = V1ConfigMap(metadata=V1ObjectMeta(name="settings", labels={"app": "web"}), data={"mode": "a"})
    created = await asyncio.to_thread(core.create_namespaced_config_map, "default", body)
    assert created.metadata.resource_version and created.metadata.uid

    labelled = await asyncio.to_thread(core.list_namespaced_config_map, "default", label_selector="app=web")
    assert [c.metadata.name for c in labelled.items] == ["settings"]
    assert (
        await asyncio.to_thread(core.list_namespaced_config_map, "default", label_selector="app=db")
    ).items == []

    patched = await asyncio.to_thread(
        core.patch_namespaced_config_map, "settings", "default", {"data": {"mode": "b"}}
    )
    assert patched.data == {"mode": "b"}

    stale = created  # the revision before the patch: compare-and-set refuses it
    stale.data = {"mode": "c"}
    with pytest.raises(ApiException) as conflict:
        await asyncio.to_thread(core.replace_namespaced_config_map, "settings", "default", stale)
    assert conflict.value.status == 409
    current = await asyncio.to_thread(core.read_namespaced_config_map, "settings", "default")
    assert current.data == {"mode": "b"}

    await asyncio.to_thread(core.delete_namespaced_config_map, "settings", "default")
    with pytest.raises(ApiException) as gone:
        await asyncio.to_thread(core.read_namespaced_config_map, "settings", "default")
    assert gone.value.status == 404


async def _seen(events: list[tuple[str, str, Any]], name: str) -> bool:
    return any(n == name for _, n, _ in events)


async def test_watch_from_a_listed_resource_version_sees_each_change(cluster: Cluster) -> None:
    from kubernetes import watch
    from kubernetes.client import V1ConfigMap, V1ObjectMeta

    core = _core(cluster)
    listed = await asyncio.to_thread(core.list_namespaced_config_map, "default")
    events: list[tuple[str, str, dict[str, str] | None]] = []
    done = threading.Event()
    watcher = watch.Watch()

    def follow() -> None:
        for event in watcher.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=20,
        ):
            obj = event["object"]
            events.append((event["type"], obj.metadata.name, obj.data))
            if event["type"] == "DELETED":
                watcher.stop()
        done.set()

    following = asyncio.create_task(asyncio.to_thread(follow))
    try:
        # The bucket keeps one message per key: changes made before the watch is open would reach
        # it as their last state only. A marker's ADDED says the watch is open.
        marker = V1ConfigMap(metadata=V1ObjectMeta(name="marker"))
        await asyncio.to_thread(core.create_namespaced_config_map, "default", marker)
        await wait_for(lambda: _seen(events, "marker"), 20, "the marker on the watch")
        body = V1ConfigMap(metadata=V1ObjectMeta(name="watched"), data={"n": "1"})
        await asyncio.to_thread(core.create_namespaced_config_map, "default", body)
        await asyncio.to_thread(core.patch_namespaced_config_map, "watched", "default", {"data": {"n": "2"}})
        await asyncio.to_thread(core.delete_namespaced_config_map, "watched", "default")
        await asyncio.wait_for(following, 30)
    finally:
        watcher.stop()
    assert [(t, n) for t, n, _ in events if n != "marker"] == [
        ("ADDED", "watched"),
        ("MODIFIED", "watched"),
        ("DELETED", "watched"),
    ]
    assert [d for t, n, d in events if t == "MODIFIED"] == [{"n": "2"}]


async def test_a_limited_list_continues_where_it_stopped(cluster: Cluster) -> None:
    from kubernetes.client import V1ConfigMap, V1ObjectMeta

    core = _core(cluster)
    for i in range(3):
        body = V1ConfigMap(metadata=V1ObjectMeta(name=f"page{i}"))
        await asyncio.to_thread(core.create_namespaced_config_map, "default", body)
    first = await asyncio.to_thread(core.list_namespaced_config_map, "default", limit=2)
    assert [c.metadata.name for c in first.items] == ["page0", "page1"]
    assert first.metadata._continue and first.metadata.remaining_item_count == 1
    rest = await asyncio.to_thread(
        core.list_namespaced_config_map, "default", limit=2, _continue=first.metadata._continue
    )
    assert [c.metadata.name for c in rest.items] == ["page2"] and not rest.metadata._continue
