"""A Node deleted under its running kubelet, on the node-engines bed (disruptive: runs after the
other pod network tests).

The kubelet registers the Node again at its next heartbeat (the node lifecycle controller deleted
the Lease the Node owned); the node IPAM gives it a new subnet, since a pod recorded with an address of the
old one (held here by a finalizer, so the garbage collector's sweep of a deleted Node's pods cannot
free it) keeps that one taken; the node's flannel agent moves the host to the new subnet and sets
NetworkUnavailable False again. A new pod there takes an address of the new subnet, and pods on the
two other nodes reach it and are reached by it, each seeing the other's own IP. The old pod either
went with the deletion (the sweep saw the Node missing) or outlived it and got a new sandbox on the
new subnet.
"""

from __future__ import annotations

import pytest

from cli.testbed import NODES, Testbed
from schemas.errors import NotFound
from tests.testbed.helpers import bed_api, poll
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
HOLD = "test.jetkube.local/hold"


def network_condition(node: dict) -> tuple[str, str] | None:
    for c in node["status"].get("conditions") or ():
        if c["type"] == "NetworkUnavailable":
            return c["status"], c["reason"]
    return None


@pytest.mark.timeout(400)
async def test_a_deleted_node_comes_back_on_a_new_subnet_that_its_pods_use(testbed: Testbed) -> None:
    ns = "podnet-node-deleted"
    async with bed_api() as api:
        await make_namespace(api, ns)
        try:
            await api.create("pods", echo_pod("here", N1), namespace=ns)
            await api.create("pods", echo_pod("far", N3), namespace=ns)
            held = echo_pod("there", N2)
            held["metadata"]["finalizers"] = [HOLD]
            await api.create("pods", held, namespace=ns)
            before = await running_pods(api, ns, ["here", "far", "there"])
            old = (await node_subnets(api))[N2]
            assert in_subnet(pod_ip(before["there"]), old)
            uid = (await api.get("nodes", N2))["metadata"]["uid"]

            await api.delete("nodes", N2)

            async def back_on_a_new_subnet() -> str | None:
                try:
                    node = await api.get("nodes", N2)
                except NotFound:
                    return None
                cidr = node["spec"].get("podCIDR")
                fresh = node["metadata"]["uid"] != uid and cidr and cidr != old
                return str(cidr) if fresh and network_condition(node) == ("False", "FlannelIsUp") else None

            new = await poll(back_on_a_new_subnet, 90, f"{N2} registered again, on a new subnet, network up")

            await api.create("pods", echo_pod("again", N2), namespace=ns)
            after = await running_pods(api, ns, ["again"], timeout=120)
            ips = {
                "here": pod_ip(before["here"]),
                "far": pod_ip(before["far"]),
                "again": pod_ip(after["again"]),
            }
            assert in_subnet(ips["again"], new), f"the new pod on {N2} has {ips['again']}, not in {new}"
            for src, dst in (("here", "again"), ("again", "here"), ("far", "again")):
                await poll(
                    lambda s=src, d=dst: reaches(ns, s, ips[d], ips[s]),
                    60,
                    f"{src} -> {dst} ({ips[dst]}) after {N2} came back",
                    every=1.0,
                )

            async def old_pod_settled() -> str | None:
                pod = await api.get("pods", "there", namespace=ns)
                if pod["metadata"].get("deletionTimestamp"):
                    return "deleted with its Node"
                ip = (pod.get("status") or {}).get("podIP")
                return f"moved to {ip}" if ip and in_subnet(ip, new) else None

            fate = await poll(old_pod_settled, 90, "the old pod deleted or moved")
            print(f"\nthe pod on {N2} before the deletion: {fate}")
        finally:
            try:
                await api.patch("pods", "there", {"metadata": {"finalizers": None}}, namespace=ns)
            except NotFound:
                pass
            await drop_namespace(api, ns)
    await wait_bed_whole(testbed)
