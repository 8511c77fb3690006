"""Node CIDR allocation with the real control plane (api with admission, the nodeipam controller
under its lease) on a real nats-server, and the kubelet's own node agent (over the fake runtime)
registering and heartbeating as it does on a host."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.controlplane import ControlPlaneSettings, start_control_plane
from actors.kubelet.context import KubeletContext
from actors.kubelet.fake_runtime import FakeRuntime
from actors.kubelet.node import NodeAgent
from actors.nodeipam import clusterconfig
from actors.runtime.supervisor import Supervisor
from bus.client import ApiClient
from bus.connection import Bus
from bus.store import Store
from schemas.errors import Invalid, ServiceUnavailable
from tests.integration.controllers_infra.helpers import eventually, pod_manifest, set_pod_status

CLUSTER = ipaddress.IPv4Network("10.251.0.0/22")  # four /24s: exhaustion is reachable


@contextlib.asynccontextmanager
async def control_plane(
    bus: Bus, store: Store, identity: str, controllers: tuple[str, ...] = ("nodeipam", "garbagecollector")
) -> AsyncIterator[Supervisor]:
    sup = Supervisor(f"ipam-{identity}")
    settings = ControlPlaneSettings(
        identity=identity,
        retry_period=0.2,
        lease_duration=2,
        renew_deadline=1.5,
        controllers=controllers,
        cluster_cidr=str(CLUSTER),
        node_cidr_mask_size=24,
    )
    start_control_plane(sup, bus, store, settings)
    try:
        yield sup
    finally:
        await sup.stop()


async def serving(api: ApiClient) -> None:
    async def up() -> bool:
        try:
            await api.get("namespaces", "default")
            return True
        except ServiceUnavailable:
            return False

    await eventually(up, timeout=20)


def bare_node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


async def pod_cidr(api: ApiClient, name: str) -> str:
    node = await api.get("nodes", name)
    spec = node.get("spec") or {}
    assert spec.get("podCIDR"), f"{name} has no podCIDR yet"
    assert spec.get("podCIDRs") == [spec["podCIDR"]]
    return str(spec["podCIDR"])


async def test_nodes_get_distinct_subnets_that_survive_kubelet_restarts(bus: Bus, store: Store) -> None:
    api = ApiClient(bus)
    async with control_plane(bus, store, "cp-a"):
        await serving(api)
        agents = []
        for name in ("ipam-a", "ipam-b"):
            ctx = KubeletContext(
                runtime=FakeRuntime(), api=api, recorder=None, node_name=name, host_ip="10.0.0.1"
            )
            agent = NodeAgent(ctx, {"role": "worker"})
            await agent.register()
            agents.append(agent)
        a = await eventually(lambda: pod_cidr(api, "ipam-a"))
        b = await eventually(lambda: pod_cidr(api, "ipam-b"))
        assert a != b
        assert all(ipaddress.ip_network(c).subnet_of(CLUSTER) for c in (a, b))
        assert ipaddress.ip_network(a).prefixlen == 24

        # the kubelet restarts: registers again (labels patched), heartbeats its status
        for agent in agents:
            again = NodeAgent(agent.ctx, {"role": "worker", "new": "label"})
            await again.register()
            await again._post(True, "")
        assert await pod_cidr(api, "ipam-a") == a
        assert await pod_cidr(api, "ipam-b") == b

        # nobody may move or clear a set subnet
        node = await api.get("nodes", "ipam-a")
        node["spec"]["podCIDR"] = node["spec"]["podCIDRs"][0] = b
        with pytest.raises(Invalid) as err:
            await api.update("nodes", node)
        assert "spec.podCIDRs" in err.value.message


async def test_a_deleted_nodes_subnet_waits_for_its_pods(bus: Bus, store: Store) -> None:
    api = ApiClient(bus)
    async with control_plane(bus, store, "cp-b"):
        await serving(api)
        await api.create("nodes", bare_node("gone"))
        gone_cidr = await eventually(lambda: pod_cidr(api, "gone"))
        pod_ip = str(ipaddress.ip_network(gone_cidr).network_address + 5)
        await api.create("pods", pod_manifest("left-behind", node="gone"))
        await set_pod_status(api, "left-behind", ip=pod_ip, ready=True)
        # the pod's finalizer-free delete is the garbage collector's once the node is gone; hold it
        # with a finalizer so the test sees the subnet held while the pod object exists
        pod = await api.get("pods", "left-behind", namespace="default")
        pod["metadata"]["finalizers"] = ["test.jetkube.local/hold"]
        await api.update("pods", pod)
        await api.delete("nodes", "gone")

        await api.create("nodes", bare_node("newcomer"))
        newcomer = await eventually(lambda: pod_cidr(api, "newcomer"))
        assert newcomer != gone_cidr  # its pod may still run on the old node's bridge

        pod = await api.get("pods", "left-behind", namespace="default")
        pod["metadata"]["finalizers"] = []
        await api.update("pods", pod)

        async def pod_gone() -> bool:
            return not [
                p
                for p in (await api.list("pods", "default"))["items"]
                if p["metadata"]["name"] == "left-behind"
            ]

        await eventually(pod_gone, timeout=30)
        await api.create("nodes", bare_node("third"))
        assert await eventually(lambda: pod_cidr(api, "third")) == gone_cidr


async def test_a_new_leader_recovers_the_allocations_from_the_nodes(bus: Bus, store: Store) -> None:
    api = ApiClient(bus)
    async with control_plane(bus, store, "cp-c1"):
        await serving(api)
        for name in ("lead-1", "lead-2"):
            await api.create("nodes", bare_node(name))
        first = {await eventually(lambda n=name: pod_cidr(api, n)) for name in ("lead-1", "lead-2")}
    async with control_plane(bus, store, "cp-c2"):
        await serving(api)
        await api.create("nodes", bare_node("lead-3"))
        third = await eventually(lambda: pod_cidr(api, "lead-3"), timeout=20)
        assert third not in first
        await api.create("nodes", bare_node("lead-4"))
        await eventually(lambda: pod_cidr(api, "lead-4"), timeout=20)
        # the pool (four /24s) is now full: a fifth node waits without a subnet
        await api.create("nodes", bare_node("lead-5"))
        with pytest.raises(AssertionError):
            await eventually(lambda: pod_cidr(api, "lead-5"), timeout=2)


async def test_the_pool_is_published_for_kubelets_and_put_back_when_changed(bus: Bus, store: Store) -> None:
    api = ApiClient(bus)
    async with control_plane(bus, store, "cp-d"):
        await serving(api)

        async def published() -> dict[str, Any]:
            cm = await api.get("configmaps", clusterconfig.NAME, clusterconfig.NAMESPACE)
            assert cm["data"]["clusterCIDR"] == str(CLUSTER), cm["data"]
            return cm

        cm = await eventually(published, timeout=20)
        assert cm["data"]["nodeCIDRMaskSize"] == "24"
        cm["data"]["clusterCIDR"] = "10.0.0.0/8"
        await api.update("configmaps", cm)
        await eventually(published, timeout=20)
        await api.delete("configmaps", clusterconfig.NAME, namespace=clusterconfig.NAMESPACE)
        await eventually(published, timeout=20)


async def test_a_kubelet_registers_its_deleted_node_again_and_it_gets_a_new_subnet(
    bus: Bus, store: Store
) -> None:
    """The kubelet notices the deletion at its next heartbeat (the node lifecycle controller deleted
    the Lease the Node owned) and creates the Node again, with the conditions it registers with (here
    flannel's NetworkUnavailable, as ``--pod-network flannel`` has it); a pod recorded with an
    address of the old subnet keeps that subnet out of the new Node's reach."""
    api = ApiClient(bus)
    async with control_plane(bus, store, "cp-e", ("nodeipam", "garbagecollector", "nodelifecycle")):
        await serving(api)
        ctx = KubeletContext(
            runtime=FakeRuntime(), api=api, recorder=None, node_name="again", host_ip="10.0.0.9"
        )
        agent = NodeAgent(ctx, None)
        agent.register_conditions = [
            {"type": "NetworkUnavailable", "status": "True", "reason": "NoRouteCreated", "message": "m"}
        ]
        await agent.register()
        first = await eventually(lambda: pod_cidr(api, "again"))
        node = await api.get("nodes", "again")
        conds = {c["type"]: c for c in node["status"]["conditions"]}
        assert conds["NetworkUnavailable"]["status"] == "True" and conds["Ready"]["status"] == "True"
        await api.create("pods", pod_manifest("held", node="again"))
        await set_pod_status(api, "held", ip=str(ipaddress.ip_network(first).network_address + 3), ready=True)
        pod = await api.get("pods", "held", namespace="default")
        pod["metadata"]["finalizers"] = ["test.jetkube.local/hold"]  # the GC would delete it
        await api.update("pods", pod)
        # someone else's condition survives the kubelet's own status writes
        await api.patch(
            "nodes",
            "again",
            {"status": {"conditions": [{"type": "NetworkUnavailable", "status": "False", "reason": "Up"}]}},
            patch_type="strategic",
            subresource="status",
        )
        agent.node = None  # the next status write starts from the Node as stored
        await agent._post(False, "engine down")
        conds = {c["type"]: c for c in (await api.get("nodes", "again"))["status"]["conditions"]}
        assert conds["NetworkUnavailable"]["reason"] == "Up" and conds["Ready"]["status"] == "False"
        await agent._post(True, "")  # Ready again: no status write due, only Lease renewals

        uid = node["metadata"]["uid"]
        await api.delete("nodes", "again")

        async def registered_again() -> str:
            await agent.heartbeat()
            node = await api.get("nodes", "again")
            assert node["metadata"]["uid"] != uid
            return await pod_cidr(api, "again")

        writes = agent.status_writes
        second = await eventually(registered_again, timeout=30, interval=0.3)
        assert second != first and agent.registrations == 2
        assert agent.status_writes == writes  # noticed through the Lease, not a status write
        node = await api.get("nodes", "again")
        conds = {c["type"]: c for c in node["status"]["conditions"]}
        assert conds["NetworkUnavailable"]["reason"] == "NoRouteCreated"

        async def lease_owned_by_the_new_node() -> bool:
            await agent.heartbeat()
            lease = await api.get("leases", "again", "kube-node-lease")
            return bool(lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"])

        await eventually(lease_owned_by_the_new_node, timeout=20, interval=0.3)
        await api.patch("pods", "held", {"metadata": {"finalizers": None}}, namespace="default")
