"""The pod network through faults: a node restarted (its host and its kubelet, as a machine
reboots) keeps its subnet and its pods their IPs; a node cut off from the network
(`docker network disconnect` of its host) leaves the other nodes' pods talking, and traffic to its
pods returns once it is connected again.

The cut is short (under the bed's 10 s + 15 s to evict), so the pods on the cut node stay bound to it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bus.client import ApiClient
from cli.testbed import NETWORK, NODE_HOSTS, NODES, Testbed, docker
from tests.testbed.helpers import bed_api, poll, ready_nodes
from tests.testbed_node_engines.podnet import (
    drop_namespace,
    echo_pod,
    in_subnet,
    make_namespace,
    node_subnets,
    pod_ip,
    reaches,
    running_pods,
    wait_bed_whole,
)

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

N1, N2, N3 = NODES["node1"], NODES["node2"], NODES["node3"]


@pytest.mark.timeout(300)
async def test_a_restarted_node_keeps_its_subnet_and_its_pods_their_ips(testbed: Testbed) -> None:
    ns = "podnet-restart"
    async with bed_api() as api:
        await make_namespace(api, ns)
        await api.create("pods", echo_pod("here", N1), namespace=ns)
        await api.create("pods", echo_pod("there", N2), namespace=ns)
        before = await running_pods(api, ns, ["here", "there"])
        ips = {name: pod_ip(p) for name, p in before.items()}
        subnet = (await node_subnets(api))[N2]
        assert in_subnet(ips["there"], subnet), (ips, subnet)
        await poll(
            lambda: reaches(ns, "here", ips["there"], ips["here"]), 60, "here -> there before the restart"
        )

        restarted = datetime.now(UTC)
        await asyncio.to_thread(testbed.restart_node, "node2")
        await poll(lambda: _ready(N2), 90, f"{N2} Ready after its restart")
        # the status read before the kubelet reported the new sandbox would still show the old IP
        await poll(lambda: _started_since(api, ns, "there", restarted), 120, "there running again")
        after = await running_pods(api, ns, ["here", "there"], timeout=120)
        assert (await node_subnets(api))[N2] == subnet, f"{N2}'s subnet changed in the restart"
        assert pod_ip(after["there"]) == ips["there"], (
            f"the pod on {N2} came back with {pod_ip(after['there'])}"
        )
        await poll(
            lambda: reaches(ns, "here", ips["there"], ips["here"]), 60, "here -> there after the restart"
        )
        await poll(
            lambda: reaches(ns, "there", ips["here"], ips["there"]), 60, "there -> here after the restart"
        )
        await drop_namespace(api, ns)
    await wait_bed_whole(testbed)


async def _started_since(api: ApiClient, ns: str, name: str, since: datetime) -> bool:
    """The pod's container running, started at or after ``since`` (in a sandbox made again)."""
    pod = await api.get("pods", name, namespace=ns)
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        started = ((cs.get("state") or {}).get("running") or {}).get("startedAt")
        if started and datetime.fromisoformat(started.replace("Z", "+00:00")) >= since.replace(microsecond=0):
            return True
    return False


async def _ready(node: str) -> bool:
    async with bed_api() as api:
        return node in await ready_nodes(api)


@pytest.mark.timeout(300)
async def test_a_partitioned_node_does_not_break_the_others_and_comes_back_when_healed(
    testbed: Testbed,
) -> None:
    ns = "podnet-partition"
    names = {"p1": N1, "p2": N2, "p3": N3}
    async with bed_api() as api:
        await make_namespace(api, ns)
        for name, node in names.items():
            await api.create("pods", echo_pod(name, node), namespace=ns)
        got = await running_pods(api, ns, list(names))
        ips = {name: pod_ip(p) for name, p in got.items()}
        for src, dst in (("p1", "p2"), ("p2", "p1"), ("p1", "p3")):
            await poll(
                lambda s=src, d=dst: reaches(ns, s, ips[d], ips[s]), 60, f"{src} -> {dst} before the cut"
            )

        host = testbed.host_container("node3")
        await asyncio.to_thread(docker, "network", "disconnect", NETWORK, host)
        try:

            async def cut() -> bool:
                return not await reaches(ns, "p1", ips["p3"], ips["p1"])

            await poll(cut, 20, f"{N3}'s pod unreachable while its host is cut off")
            for src, dst in (("p1", "p2"), ("p2", "p1")):
                assert await reaches(ns, src, ips[dst], ips[src]), (
                    f"{src} -> {dst} broke while {N3} was cut off"
                )
        finally:
            await asyncio.to_thread(
                docker, "network", "connect", "--alias", NODE_HOSTS["node3"], NETWORK, host
            )

        for src, dst in (("p1", "p3"), ("p3", "p2")):
            await poll(
                lambda s=src, d=dst: reaches(ns, s, ips[d], ips[s]), 60, f"{src} -> {dst} after the heal"
            )
        await poll(lambda: _ready(N3), 60, f"{N3} Ready after the heal")
        await drop_namespace(api, ns)
    await wait_bed_whole(testbed)
