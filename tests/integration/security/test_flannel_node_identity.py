"""The pod network's agent works under the kubelet's own identity (``system:node:<name>``): it
watches every Node and publishes its own flannel annotations, and may not take a subnet itself."""

from __future__ import annotations

import asyncio

import pytest

from actors.flannel import plan
from actors.flannel.agent import FlannelAgent, FlannelSettings
from actors.flannel.netlink import Interface
from actors.runtime.supervisor import Supervisor
from schemas.errors import Forbidden
from tests.integration.security.conftest import SecureCluster, eventually


def node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


async def test_the_agent_runs_as_its_node(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    kubelet = await secure.client("node-n1")
    await kubelet.create("nodes", node("n1"))
    peer = node("n2")
    peer["spec"] = {"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]}
    peer["metadata"]["annotations"] = plan.annotations("vxlan", "192.0.2.2", "aa:00:00:00:00:02")
    await admin.create("nodes", peer)

    agent = FlannelAgent(kubelet, "n1", FlannelSettings())
    sup = Supervisor("agent-as-node")
    sup.spawn("nodes", agent.nodes.run)
    try:
        await asyncio.wait_for(agent.nodes.wait_synced(), 10)

        async def sees_peer() -> bool:
            return [p.name for p in plan.peers(agent.nodes.list(), "n1")] == ["n2"]

        await eventually(sees_peer)
        agent.iface, agent.vtep_mac = Interface("eth0", "192.0.2.1", 1500), "aa:00:00:00:00:01"
        await agent._publish()
        annotations = (await admin.get("nodes", "n1"))["metadata"]["annotations"]
        assert annotations[plan.PUBLIC_IP] == "192.0.2.1"
        assert annotations[plan.BACKEND_DATA] == '{"VtepMAC":"aa:00:00:00:00:01"}'

        with pytest.raises(Forbidden, match="podCIDRs"):
            await kubelet.patch(
                "nodes", "n1", {"spec": {"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]}}
            )
    finally:
        await sup.stop()
