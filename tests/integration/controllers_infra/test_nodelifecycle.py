"""Node loss -> Unknown + taints -> pods not ready -> eviction; node back -> Ready, untainted.

Heartbeats are written through the api as a kubelet would; the grace periods are short.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from actors.nodelifecycle.controller import NodeLifecycleController
from actors.nodelifecycle.decide import UNREACHABLE, Settings, format_time
from tests.integration.controllers_infra.helpers import eventually, pod_manifest, running, set_pod_status

SETTINGS = Settings(node_monitor_grace_period=2.0, node_startup_grace_period=2.0, pod_eviction_timeout=1.5)


def now() -> str:
    return format_time(datetime.now(UTC))


async def heartbeat(api: Any, name: str) -> None:
    node = await api.get("nodes", name)
    node["status"]["conditions"] = [
        {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": now(),
            "lastTransitionTime": now(),
        }
    ]
    await api.update_status("nodes", node)


async def test_node_loss_eviction_and_return(api: Any) -> None:
    await api.create(
        "nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n1"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": now()}]},
        },
    )
    rs_ref = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "rs",
        "uid": "rs-uid",
        "controller": True,
    }
    ds_ref = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "uid": "ds-uid", "controller": True}
    await api.create("pods", pod_manifest("app", node="n1", owners=[rs_ref]))
    await api.create("pods", pod_manifest("agent", node="n1", owners=[ds_ref]))
    for name in ("app", "agent"):
        await set_pod_status(api, name, ip="10.1.0.1", ready=True)

    def build(api: Any, informers: Any) -> NodeLifecycleController:
        return NodeLifecycleController(api, informers, SETTINGS)

    async with running(api, build):

        async def unknown_and_tainted() -> bool:
            node = await api.get("nodes", "n1")
            [ready] = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
            taints = {(t["key"], t["effect"]) for t in (node.get("spec") or {}).get("taints") or []}
            return (
                ready["status"] == "Unknown"
                and ready["reason"] == "NodeStatusUnknown"
                and ready["message"] == "Kubelet stopped posting node status."
                and taints == {(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")}
            )

        await eventually(unknown_and_tainted, timeout=10)

        async def pods_not_ready() -> bool:
            for name in ("app", "agent"):
                pod = await api.get("pods", name, namespace="default")
                ready = [c for c in pod["status"]["conditions"] if c["type"] == "Ready"]
                assert ready[0]["status"] == "False"
            return True

        await eventually(pods_not_ready, timeout=10)

        async def app_evicted() -> bool:
            pod = await api.get("pods", "app", namespace="default")
            return bool(pod["metadata"].get("deletionTimestamp"))

        await eventually(app_evicted, timeout=10)
        agent = await api.get("pods", "agent", namespace="default")
        assert not agent["metadata"].get("deletionTimestamp")  # DaemonSet pods stay

        async def back() -> bool:
            await heartbeat(api, "n1")  # a kubelet posting again (timestamps have second precision)
            node = await api.get("nodes", "n1")
            return not (node.get("spec") or {}).get("taints")

        await eventually(back, timeout=10)


async def test_a_renewed_lease_keeps_a_node_ready_and_its_loss_makes_it_unknown(api: Any) -> None:
    """Kubelets renew kube-node-lease/<node> and write the Node only on change: the Lease is the
    heartbeat the controller reads, beside the Ready condition."""
    from actors.kubelet.node_lease import lease_object, renewed

    await api.create(
        "nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n2"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": now()}]},
        },
    )
    lease = await api.create("leases", lease_object("n2", datetime.now(UTC)))

    def build(api: Any, informers: Any) -> NodeLifecycleController:
        return NodeLifecycleController(api, informers, SETTINGS)

    async def ready_status() -> str:
        node = await api.get("nodes", "n2")
        return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")

    async with running(api, build):
        # the condition goes stale after 2 s; the lease, renewed every 0.5 s, keeps the node Ready
        started = datetime.now(UTC)
        while (datetime.now(UTC) - started).total_seconds() < 4:
            lease = await api.update("leases", renewed(lease, datetime.now(UTC)))
            assert await ready_status() == "True"
            await asyncio.sleep(0.5)

        async def unknown() -> bool:  # the renewals stop
            return await ready_status() == "Unknown"

        await eventually(unknown, timeout=10)

        async def back() -> bool:  # renewed again: the controller restores Ready itself
            await api.update(
                "leases", renewed(await api.get("leases", "n2", "kube-node-lease"), datetime.now(UTC))
            )
            return await ready_status() == "True"

        await eventually(back, timeout=10)
