"""The gateway pages with the api's own ``limit``/``continue`` (actors/api/paging.py): a page is
read after the token's key without holding the whole list, and a token works over HTTP and NATS."""

from __future__ import annotations

import json

import pytest

from tests.integration.gateway.conftest import Cluster

pytestmark = pytest.mark.asyncio

PATH = "/api/v1/namespaces/default/configmaps"


async def test_pages_share_the_apis_tokens_and_bad_ones_are_refused(cluster: Cluster, api: object) -> None:
    from bus.client import ApiClient

    assert isinstance(api, ApiClient)
    for i in range(5):
        await api.create("configmaps", {"metadata": {"name": f"cm{i}", "namespace": "default"}})
    names = (await cluster.ok("get", "configmaps", "--chunk-size=2", "-o", "name")).split()
    assert [n for n in names if n.startswith("configmap/cm")] == [f"configmap/cm{i}" for i in range(5)]
    table = (await cluster.ok("get", "configmaps", "--chunk-size=2")).splitlines()
    assert table[0].split()[0] == "NAME"
    assert [r.split()[0] for r in table[1:] if r.startswith("cm")] == [f"cm{i}" for i in range(5)]

    first = json.loads(await cluster.ok("get", "--raw", f"{PATH}?limit=2"))
    token = first["metadata"]["continue"]
    rv = first["metadata"]["resourceVersion"]
    others = len([o for o in (await api.list("configmaps", "default"))["items"]]) - 2
    assert first["metadata"]["remainingItemCount"] == others
    second = await api.call(
        "list", {"resource": "configmaps", "namespace": "default", "limit": 2, "continue": token}
    )
    assert [o["metadata"]["name"] for o in first["items"] + second["items"]] == [f"cm{i}" for i in range(4)]
    assert second["metadata"]["resourceVersion"] == rv  # every page names the first page's revision
    after = second["metadata"]["continue"]
    third = json.loads(await cluster.ok("get", "--raw", f"{PATH}?limit=2&continue={after}"))
    assert [o["metadata"]["name"] for o in third["items"]][:1] == ["cm4"]
    selected = json.loads(await cluster.ok("get", "--raw", f"{PATH}?limit=2&labelSelector=a!%3Db"))
    assert "remainingItemCount" not in selected["metadata"]  # none with a selector, as Kubernetes

    forged = await cluster.kubectl("get", "--raw", f"{PATH}?limit=2&continue=bm90LWEtdG9rZW4=")
    assert forged.code == 1 and "continue: Invalid value" in forged.err
    negative = await cluster.kubectl("get", "--raw", f"{PATH}?limit=-1")
    assert negative.code == 1 and "limit: Invalid value" in negative.err
