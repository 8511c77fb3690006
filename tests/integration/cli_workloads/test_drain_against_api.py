"""``jetkube drain`` against the api actor: graceful deletion waits for the (fake) kubelet."""

from __future__ import annotations

from typing import Any

from tests.integration.cli_workloads.helpers import jetkube
from tests.integration.controllers.helpers import fake_kubelet


async def node(api: Any, name: str) -> None:
    await api.create(
        "nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
    )


async def pod(api: Any, name: str, node_name: str, owner: str | None) -> None:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner, "name": "o", "uid": f"uid-{owner}", "controller": True}
        ]
    await api.create(
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "busybox"}]},
        },
    )


async def names(api: Any) -> set[str]:
    return {p["metadata"]["name"] for p in (await api.list("pods", "default"))["items"]}


async def test_drain_refuses_then_drains(nats_url: str, api: Any) -> None:
    await node(api, "n1")
    await node(api, "n2")
    await pod(api, "web-1", "n1", "ReplicaSet")
    await pod(api, "agent-1", "n1", "DaemonSet")
    await pod(api, "bare", "n1", None)
    await pod(api, "other", "n2", "ReplicaSet")

    code, out, err = await jetkube(nats_url, "drain", "n1")
    assert code == 1
    assert out == "node/n1 cordoned\n"
    assert err.splitlines()[0].startswith('error: unable to drain node "n1" due to error: [cannot delete')
    assert "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/agent-1" in err
    assert (await api.get("nodes", "n1"))["spec"]["unschedulable"] is True
    assert await names(api) == {"web-1", "agent-1", "bare", "other"}

    async with fake_kubelet(api):
        code, out, err = await jetkube(
            nats_url, "drain", "n1", "--ignore-daemonsets", "--force", "--timeout", "20s"
        )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "node/n1 already cordoned" and lines[-1] == "node/n1 drained"
    assert {
        "evicting pod default/web-1",
        "evicting pod default/bare",
        "pod/web-1 evicted",
        "pod/bare evicted",
    } <= set(lines)
    assert "Warning: ignoring DaemonSet-managed Pods: default/agent-1" in err
    assert "Warning: deleting Pods not managed by" in err
    assert await names(api) == {"agent-1", "other"}

    code, out, err = await jetkube(nats_url, "uncordon", "n1")
    assert (code, out) == (0, "node/n1 uncordoned\n")


async def test_drain_timeout_when_no_kubelet_finishes_the_deletion(nats_url: str, api: Any) -> None:
    await node(api, "n1")
    await pod(api, "web-1", "n1", "ReplicaSet")
    code, out, err = await jetkube(nats_url, "drain", "n1", "--timeout", "1s")
    assert code == 1
    assert out.splitlines() == ["node/n1 cordoned", "evicting pod default/web-1"]
    assert (
        'error when waiting for pod "web-1" in namespace "default" to terminate: global timeout reached: 1s'
    ) in err
    assert (await api.get("pods", "web-1", "default"))["metadata"].get("deletionTimestamp")
