"""``--pod-network flannel`` on the real engine: one in-process cluster (control plane with node
IPAM, a kubelet in flannel mode, host-gw backend) on this host's Docker.

Checked as a user would: the Node gets a subnet, the pods get addresses from it on a Docker bridge
network without Docker's masquerade, a pod reaches another pod by IP and the other pod sees the
caller's own IP. The kubelet takes the cluster CIDR the control plane publishes and its Node's
NetworkUnavailable turns False. Its Node deleted under it, the kubelet registers it again, the IPAM
gives it a new subnet (the pods' recorded addresses hold the old one), the bridge is made again on
it, and the pods, which outlived the deletion here (no garbage collector runs), get new sandboxes
with addresses of the new subnet and reach each other again. The agent's chains and device carry
this run's names, and everything it made (network, chains, containers) is removed afterwards.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RUN_ID
from tests.e2e.networking.helpers import exec_in, pod
from tests.waiting import wait_for

CLUSTER = "10.253.0.0/16"
CGI = (
    "mkdir -p /w/cgi-bin; printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n'"
    " > /w/cgi-bin/ip; chmod +x /w/cgi-bin/ip; exec httpd -f -p 8080 -h /w"
)


def _check_host() -> None:
    if shutil.which("docker") is None and not os.path.exists("/var/run/docker.sock"):
        pytest.skip("no Docker engine")
    if shutil.which("iptables") is None or os.geteuid() != 0:
        pytest.skip("the pod network needs iptables and root")


async def _equal(get: Any, want: Any) -> bool:
    return bool(await get() == want)


def _chain_exists(table: str, chain: str) -> bool:
    return subprocess.run(["iptables", "-t", table, "-S", chain], capture_output=True).returncode == 0


async def test_pods_on_the_nodes_subnet_see_each_others_ips(
    runtime: Any, node_name: Any, tmp_path: Path
) -> None:
    _check_host()
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.kubelet.process import start_kubelet
    from actors.runtime.supervisor import Supervisor
    from bus.client import ApiClient
    from bus.connection import Bus
    from bus.embedded import EmbeddedNats, free_port
    from bus.store import Store

    node = node_name("flannel")
    options = {
        "nat_chain": f"JKFN-{RUN_ID}",
        "forward_chain": f"JKFF-{RUN_ID}",
        "vxlan_device": f"jkf{RUN_ID[:6]}",
    }
    server = EmbeddedNats(data_dir=tmp_path / "nats", port=free_port())
    server.start()
    sup = Supervisor("flannel-e2e")
    node_sup = Supervisor("flannel-e2e-kubelet")
    bus = await Bus.connect(server.url, name="flannel-e2e")
    kubelet = None
    try:
        store = await Store.open(bus)
        settings = ControlPlaneSettings(
            retry_period=0.5, controllers=("scheduler", "nodeipam"), cluster_cidr=CLUSTER
        )
        start_control_plane(sup, bus, store, settings)
        api = ApiClient(bus)

        async def start(kubelet_sup: Any) -> Any:
            return await start_kubelet(
                kubelet_sup,
                bus,
                node_name=node,
                state_dir=str(tmp_path / "kubelet"),
                stats_interval=0,
                log_stream=False,
                heartbeat_interval=1.0,
                pod_network="flannel",
                flannel_backend="host-gw",
                flannel_options=options,  # no cluster_cidr: the control plane's
            )

        kubelet = await start(node_sup)
        assert kubelet

        async def subnet() -> str | None:
            try:
                return (await api.get("nodes", node)).get("spec", {}).get("podCIDR")
            except Exception:
                return None

        cidr = ipaddress.ip_network(await wait_for(subnet, 30, "the node's podCIDR"))
        assert cidr.subnet_of(ipaddress.ip_network(CLUSTER))

        for name, command in (("web", CGI), ("client", "exec sleep 3600")):
            manifest = pod(name, command)
            manifest["spec"]["nodeName"] = node
            await api.create("pods", manifest)

        async def pod_ip(name: str) -> str | None:
            p = await api.get("pods", name, "default")
            running = (p.get("status") or {}).get("phase") == "Running"
            return p["status"].get("podIP") if running else None

        web = await wait_for(lambda: pod_ip("web"), 60, "web running")
        client = await wait_for(lambda: pod_ip("client"), 60, "client running")
        assert ipaddress.ip_address(web) in cidr and ipaddress.ip_address(client) in cidr

        inspect = [
            "docker",
            "network",
            "inspect",
            f"jetkube-pods-{node}",
            "-f",
            "{{.Id}} {{json .Options}} {{json .IPAM.Config}}",
        ]
        inspected = await asyncio.to_thread(
            subprocess.run,
            inspect,
            capture_output=True,
            text=True,
            check=True,
        )
        network = inspected.stdout
        assert '"com.docker.network.bridge.enable_ip_masquerade":"false"' in network
        assert f'"Subnet":"{cidr}"' in network and f'"Gateway":"{cidr.network_address + 1}"' in network

        async def seen_as() -> str | None:
            code, out = await exec_in(
                runtime, node, "client", ["wget", "-qO-", f"http://{web}:8080/cgi-bin/ip"]
            )
            # busybox httpd listens on IPv6 too: an IPv4 peer shows as [::ffff:a.b.c.d]
            return out.strip().removeprefix("[::ffff:").removesuffix("]") if code == 0 else None

        assert await wait_for(seen_as, 30, "the web pod's answer") == client
        assert _chain_exists("nat", options["nat_chain"])

        # the kubelet restarts: same subnet, same bridge, the pods keep their IPs and their traffic
        await node_sup.stop()
        node_sup = Supervisor("flannel-e2e-kubelet-again")
        kubelet = await start(node_sup)
        await asyncio.wait_for(kubelet.network_agent.ready.wait(), 30)
        assert ipaddress.ip_network(await subnet()) == cidr
        again = await asyncio.to_thread(subprocess.run, inspect, capture_output=True, text=True, check=True)
        assert again.stdout == inspected.stdout
        assert await pod_ip("web") == web and await pod_ip("client") == client
        assert await wait_for(seen_as, 30, "the web pod's answer after the restart") == client
        assert str(kubelet.network_agent.cluster) == CLUSTER

        async def network_condition() -> tuple[str, str] | None:
            try:
                node_obj = await api.get("nodes", node)
            except Exception:
                return None
            for c in node_obj["status"].get("conditions") or ():
                if c["type"] == "NetworkUnavailable":
                    return c["status"], c["reason"]
            return None

        up = ("False", "FlannelIsUp")
        await wait_for(lambda: _equal(network_condition, up), 30, "NetworkUnavailable False")

        # the Node deleted under the running kubelet: registered again, on a new subnet. Its Lease
        # goes too, as the node lifecycle controller deletes it (not run here, nor the garbage
        # collector, whose sweep of a missing Node's pods would race the re-registration)
        await api.delete("nodes", node)
        await api.delete("leases", node, namespace="kube-node-lease")

        async def new_subnet() -> str | None:
            got = await subnet()
            return got if got and ipaddress.ip_network(got) != cidr else None

        moved = ipaddress.ip_network(await wait_for(new_subnet, 60, "a new podCIDR after the deletion"))

        async def moved_ip(name: str) -> str | None:
            ip = await pod_ip(name)
            return ip if ip and ipaddress.ip_address(ip) in moved else None

        web = await wait_for(lambda: moved_ip("web"), 90, "web on the new subnet")
        client = await wait_for(lambda: moved_ip("client"), 90, "client on the new subnet")
        assert await wait_for(seen_as, 30, "the web pod's answer on the new subnet") == client
        await wait_for(lambda: _equal(network_condition, up), 30, "NetworkUnavailable False again")
    finally:
        await node_sup.stop()
        await sup.stop()
        await bus.close()
        await server.astop()
        if kubelet and kubelet.network_agent is not None:
            await kubelet.network_agent.teardown()
        for c in await runtime.list(node):
            await runtime.remove(c.id)
        await runtime.remove_network(f"jetkube-pods-{node}")
    assert not _chain_exists("nat", options["nat_chain"])
    assert not _chain_exists("filter", options["forward_chain"])
