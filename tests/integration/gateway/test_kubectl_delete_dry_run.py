"""The real kubectl: ``delete --dry-run=server`` (one object, ``--all``, a deletecollection) and
evictions authorized as ``create pods/eviction``, as kube-apiserver answers them."""

from __future__ import annotations

import json

import pytest

from tests.integration.gateway.conftest import Cluster
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio

POD = {
    "metadata": {"name": "p", "namespace": "default"},
    "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]},
}


async def _versions(cluster: Cluster, kind: str) -> dict[str, str]:
    listed = await cluster.json("get", kind)
    return {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in listed["items"]}


async def test_delete_dry_run_server_prints_and_changes_nothing(cluster: Cluster, api: object) -> None:
    from bus.client import ApiClient

    assert isinstance(api, ApiClient)
    await api.create("pods", POD)
    for i in range(3):
        await api.create("configmaps", {"metadata": {"name": f"cm{i}", "namespace": "default"}})
    pods, cms = await _versions(cluster, "pods"), await _versions(cluster, "configmaps")

    out = await cluster.ok("delete", "pod", "p", "--dry-run=server")
    assert out.strip() == 'pod "p" deleted (server dry run)'
    out = await cluster.ok("delete", "configmaps", "--all", "--dry-run=server")
    assert sorted(out.strip().splitlines()) == [
        f'configmap "cm{i}" deleted (server dry run)' for i in range(3)
    ]
    # a deletecollection with dryRun=All answers the list it would delete
    raw = await cluster.ok("delete", "--raw", "/api/v1/namespaces/default/configmaps?dryRun=All")
    assert {o["metadata"]["name"] for o in json.loads(raw)["items"]} >= {"cm0", "cm1", "cm2"}

    missing = await cluster.kubectl("delete", "pod", "nope", "--dry-run=server")
    assert missing.code == 1 and 'pods "nope" not found' in missing.err
    bad = await cluster.kubectl("delete", "--raw", "/api/v1/namespaces/default/configmaps/cm0?dryRun=Some")
    assert bad.code == 1 and "dryRun" in bad.err

    assert await _versions(cluster, "pods") == pods
    assert await _versions(cluster, "configmaps") == cms
    assert (await cluster.ok("delete", "pod", "p", "--grace-period=0", "--force")).strip()
    assert await _versions(cluster, "pods") == {}


async def test_an_eviction_needs_create_pods_eviction_not_delete_pods(cluster: Cluster, api: object) -> None:
    from bus.client import ApiClient

    assert isinstance(api, ApiClient)
    await api.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    await api.create("pods", POD)
    await cluster.ok("create", "role", "evict", "--verb=create", "--resource=pods/eviction")
    await cluster.ok("create", "rolebinding", "evict", "--role=evict", "--user=evictor")
    await cluster.ok("create", "role", "del", "--verb=delete", "--resource=pods")
    await cluster.ok("create", "rolebinding", "del", "--role=del", "--user=deleter")

    async def allowed(user: str, *what: str) -> bool:
        run = await cluster.kubectl("auth", "can-i", *what, "--as", user)
        return run.out.strip() == "yes"

    await wait_for(lambda: allowed("evictor", "create", "pods", "--subresource=eviction"), timeout=10)
    await wait_for(lambda: allowed("deleter", "delete", "pods"), timeout=10)

    eviction = json.dumps(
        {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p", "namespace": "default"}}
    )
    path = "/api/v1/namespaces/default/pods/p/eviction"
    refused = await cluster.kubectl("create", "--raw", path, "-f", "-", "--as", "deleter", stdin=eviction)
    assert refused.code == 1
    assert 'cannot create resource "pods/eviction"' in refused.err
    no_delete = await cluster.kubectl("delete", "pod", "p", "--as", "evictor")
    assert no_delete.code == 1 and 'cannot delete resource "pods"' in no_delete.err

    drained = await cluster.ok("drain", "n1", "--force", "--dry-run=server", "--timeout=20s")
    assert "evicting pod default/p (server dry run)" in drained  # an Eviction with dryRun: ["All"]
    assert "node/n1 drained (server dry run)" in drained
    assert await _versions(cluster, "pods")  # still there
    assert not (await cluster.json("get", "node", "n1")).get("spec", {}).get("unschedulable")

    await cluster.ok("create", "--raw", path, "-f", "-", "--as", "evictor", stdin=eviction)
    got = await cluster.json("get", "pod", "p")
    assert got["metadata"].get("deletionTimestamp")  # bound: deleted gracefully, as a delete would
