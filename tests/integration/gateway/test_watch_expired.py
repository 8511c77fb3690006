"""A watch from a revision older than the compacted one answers 410 Gone (Expired) over HTTP, as
kube-apiserver does: an ``ERROR`` event carrying the Status, which tells client-go's reflector and
the Python client to list again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.gateway.conftest import Cluster

pytestmark = pytest.mark.asyncio


async def test_a_watch_from_a_compacted_revision_is_410_gone(cluster: Cluster, store: Any) -> None:
    await cluster.ok("create", "configmap", "old", "--from-literal=a=b")
    first = (await cluster.json("get", "configmap", "old"))["metadata"]["resourceVersion"]
    await cluster.ok("delete", "configmap", "old")
    await store.compact(0)  # the delete marker goes: revisions before it can no longer be watched

    path = f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={first}&timeoutSeconds=5"
    out = await cluster.ok("get", "--raw", path)
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [e["type"] for e in events] == ["ERROR"]
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith(f"too old resource version: {first}")

    # from a current revision the watch is served
    now = (await cluster.json("get", "configmaps"))["metadata"]["resourceVersion"]
    fresh = f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={now}&timeoutSeconds=1"
    assert (await cluster.ok("get", "--raw", fresh)).strip() == ""
