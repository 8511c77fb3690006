"""The pod network's data path, hosts as network namespaces (tests/netns_hosts.py).

A real control plane (the api with admission, node IPAM) on a real nats-server allocates each
Node's subnet; one flannel agent per "host" namespace, exactly as the kubelet runs it, reads the
Nodes, publishes its own annotations and programs its namespace with ``ip``/``bridge``/``iptables``.
Pods are namespaces on each host's bridge. Checked as a user would: a pod reaches the other host's
pod by IP over TCP and UDP in both directions and the receiver sees the sender's own pod IP; traffic
leaving the cluster CIDR is masqueraded; a node joining is routed to, a node deleted is not; the
agents read the cluster CIDR the control plane publishes, report NetworkUnavailable=False on their
Nodes, and a Node deleted and registered again moves its host to its new subnet.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.controlplane import ControlPlaneSettings, start_control_plane
from actors.flannel.agent import FlannelAgent, FlannelSettings
from actors.flannel.plan import PUBLIC_IP
from actors.runtime.supervisor import Supervisor
from bus.client import ApiClient
from bus.connection import Bus
from bus.store import Store
from schemas.errors import ServiceUnavailable
from tests.integration.controllers_infra.helpers import eventually, pod_manifest, set_pod_status
from tests.netns_hosts import LabHost, NetnsLab, ask_echo, start_echo

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("iptables"),
    reason="needs root, ip and iptables (network namespaces)",
)

CLUSTER = "10.252.0.0/16"


@contextlib.asynccontextmanager
async def cluster(bus: Bus, store: Store) -> AsyncIterator[ApiClient]:
    sup = Supervisor("flannel-test-cp")
    settings = ControlPlaneSettings(
        retry_period=0.2,
        lease_duration=2,
        renew_deadline=1.5,
        controllers=("nodeipam",),
        cluster_cidr=CLUSTER,
    )
    start_control_plane(sup, bus, store, settings)
    api = ApiClient(bus)

    async def up() -> bool:
        try:
            await api.get("namespaces", "default")
            return True
        except ServiceUnavailable:
            return False

    await eventually(up, timeout=20)
    try:
        yield api
    finally:
        await sup.stop()


async def join(
    api: ApiClient, lab: NetnsLab, sup: Supervisor, index: int, backend: str
) -> tuple[LabHost, FlannelAgent]:
    """A host joins: its Node is registered (bare, as the kubelet does), its agent starts."""
    name = f"{lab.prefix}-n{index}"
    lh = await lab.add_host(index, name)
    await api.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})

    async def on_subnet(subnet: ipaddress.IPv4Network, mtu: int) -> None:
        await lab.pod_bridge(lh, subnet, mtu)

    # iface left to the default route's on one host, named on the others
    settings = FlannelSettings(backend=backend, iface="" if index == 1 else "eth0", cluster_cidr=CLUSTER)  # type: ignore[arg-type]
    agent = FlannelAgent(api, name, settings, lh.host, on_subnet=on_subnet)
    agent.start(sup)
    return lh, agent


async def routes(lh: LabHost) -> str:
    _, out, _ = await lh.host.run("ip", "route", "show")
    return out


@pytest.mark.parametrize("backend", ["vxlan", "host-gw"])
async def test_pods_reach_each_other_across_hosts(bus: Bus, store: Store, backend: str) -> None:
    async with cluster(bus, store) as api, NetnsLab() as lab:
        sup = Supervisor("flannel-test-agents")
        servers: list[Any] = []
        try:
            h1, a1 = await join(api, lab, sup, 1, backend)
            h2, a2 = await join(api, lab, sup, 2, backend)
            for agent in (a1, a2):
                await asyncio.wait_for(agent.ready.wait(), 20)

            async def routed_both_ways() -> bool:
                return str(h2.subnet) in await routes(h1) and str(h1.subnet) in await routes(h2)

            await eventually(routed_both_ways, timeout=20)
            assert h1.subnet != h2.subnet
            node = await api.get("nodes", f"{lab.prefix}-n1")
            assert node["metadata"]["annotations"][PUBLIC_IP] == h1.ip
            if backend == "vxlan":
                _, link, _ = await h1.host.run("ip", "-d", "link", "show", "flannel.1")
                assert "vxlan id 1 " in link and "dstport 8472" in link
                assert h1.mtu == 1450

            p1 = await lab.add_pod(h1)
            p2 = await lab.add_pod(h2)
            for proto, port in (("tcp", 7001), ("udp", 7002)):
                servers.append(await start_echo(p1.netns, proto, port))
                servers.append(await start_echo(p2.netns, proto, port))
                assert await ask_echo(p1.netns, proto, p2.ip, port) == p1.ip  # no NAT between pods
                assert await ask_echo(p2.netns, proto, p1.ip, port) == p2.ip

            # leaving the cluster CIDR (to another host's own address): masqueraded as the host
            servers.append(await start_echo(h2.netns, "tcp", 7003))
            assert await ask_echo(p1.netns, "tcp", h2.ip, 7003) == h1.ip

            # an agent restarted over its configured host changes nothing
            again = FlannelAgent(
                api, a1.node_name, a1.settings, h1.host, on_subnet=a1.on_subnet, nodes=a1.nodes
            )
            await again.setup()
            assert not await again.sync()
            assert again.vtep_mac == a1.vtep_mac
        finally:
            for proc in servers:
                proc.kill()
                await proc.wait()
            await sup.stop()


async def test_joining_and_deleted_nodes(bus: Bus, store: Store) -> None:
    async with cluster(bus, store) as api, NetnsLab() as lab:
        sup = Supervisor("flannel-test-agents")
        try:
            h1, a1 = await join(api, lab, sup, 1, "vxlan")
            h2, _ = await join(api, lab, sup, 2, "vxlan")
            await asyncio.wait_for(a1.ready.wait(), 20)

            h3, _ = await join(api, lab, sup, 3, "vxlan")

            async def h3_routed() -> bool:
                if h3.subnet is None:
                    return False
                tables = [await routes(h) for h in (h1, h2)]
                return all(str(h3.subnet) in table for table in tables)

            await eventually(h3_routed, timeout=20)
            p1 = await lab.add_pod(h1)
            p3 = await lab.add_pod(h3)
            server = await start_echo(p3.netns, "tcp", 7010)
            try:
                assert await ask_echo(p1.netns, "tcp", p3.ip, 7010) == p1.ip
            finally:
                server.kill()
                await server.wait()

            await api.delete("nodes", f"{lab.prefix}-n3")

            async def h3_unrouted() -> bool:
                for h in (h1, h2):
                    if str(h3.subnet) in await routes(h):
                        return False
                    _, neigh, _ = await h.host.run("ip", "neigh", "show", "dev", "flannel.1")
                    if str(h3.subnet.network_address) + " " in neigh:  # type: ignore[union-attr]
                        return False
                return True

            await eventually(h3_unrouted, timeout=20)
            assert str(h2.subnet) in await routes(h1)  # the others stay routed
        finally:
            await sup.stop()


def network_condition(node: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == "NetworkUnavailable")


async def register(api: ApiClient, name: str) -> dict[str, Any]:
    """The Node as the kubelet creates it with --pod-network flannel: network unavailable."""
    status = {"conditions": [{"type": "NetworkUnavailable", "status": "True", "reason": "NoRouteCreated"}]}
    return await api.create(
        "nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "status": status}
    )


async def test_a_node_deleted_and_registered_again_moves_to_its_new_subnet(bus: Bus, store: Store) -> None:
    """No --cluster-cidr: the agents read the one the node IPAM publishes. Each sets its Node's
    NetworkUnavailable to False once its host is set up. n2's Node is deleted and registered again
    while a pod recorded with an address of its subnet holds that subnet: the IPAM gives it a new
    one, n2's agent moves (vxlan address, bridge, annotations) and its new pods reach n1's and are
    reached, while n1 routes the new subnet to n2 and the old one nowhere."""
    async with cluster(bus, store) as api, NetnsLab(net=78) as lab:
        sup = Supervisor("flannel-test-agents")
        servers: list[Any] = []
        hosts: dict[str, LabHost] = {}
        agents: dict[str, FlannelAgent] = {}
        try:
            for i in (1, 2):
                name = f"{lab.prefix}-n{i}"
                lh = await lab.add_host(i, name)
                await register(api, name)

                async def on_subnet(subnet: ipaddress.IPv4Network, mtu: int, lh: LabHost = lh) -> None:
                    await lab.pod_bridge(lh, subnet, mtu)

                agent = FlannelAgent(api, name, FlannelSettings(iface="eth0"), lh.host, on_subnet=on_subnet)
                agent.start(sup)
                hosts[name], agents[name] = lh, agent
            n1, n2 = hosts
            h1, h2 = hosts[n1], hosts[n2]
            for agent in agents.values():
                await asyncio.wait_for(agent.ready.wait(), 30)
                assert str(agent.cluster) == CLUSTER  # published, not given

            async def network_up(name: str) -> bool:
                cond = network_condition(await api.get("nodes", name))
                return (cond["status"], cond["reason"], cond["message"]) == (
                    "False",
                    "FlannelIsUp",
                    "Flannel is running on this node",
                )

            for name in hosts:
                await eventually(lambda name=name: network_up(name), timeout=20)
            old = h2.subnet
            assert old is not None
            await api.create("pods", pod_manifest("held", node=n2))
            await set_pod_status(api, "held", ip=str(old.network_address + 9), ready=True)

            await api.delete("nodes", n2)
            await register(api, n2)

            async def moved() -> bool:
                return agents[n2].moves == 1 and h2.subnet != old

            await eventually(moved, timeout=30)
            new = h2.subnet
            assert new is not None and new != old
            _, addrs, _ = await h2.host.run("ip", "-4", "addr", "show", "dev", "flannel.1")
            assert f"{new.network_address}/32" in addrs and f"{old.network_address}/32" not in addrs
            await eventually(lambda: network_up(n2), timeout=20)

            async def rerouted() -> bool:
                table = await routes(h1)
                return str(new) in table and str(old) not in table

            await eventually(rerouted, timeout=20)
            p1 = await lab.add_pod(h1)
            p2 = await lab.add_pod(h2)
            assert ipaddress.ip_address(p2.ip) in new
            servers.append(await start_echo(p1.netns, "tcp", 7020))
            servers.append(await start_echo(p2.netns, "tcp", 7020))
            assert await ask_echo(p1.netns, "tcp", p2.ip, 7020) == p1.ip
            assert await ask_echo(p2.netns, "tcp", p1.ip, 7020) == p2.ip
        finally:
            for proc in servers:
                proc.kill()
                await proc.wait()
            await sup.stop()
