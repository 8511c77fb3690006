"""Hosts and pods as network namespaces, for the pod network's data-path tests and benchmarks.

A lab named ``<prefix>`` (unique per run) holds, all inside namespaces (nothing is added to the
machine's own network namespace):

- ``<prefix>-lan``: a bridge ``lan0``, the network between the hosts;
- ``<prefix>-h<i>``: a host, its ``eth0`` (192.168.<net>.<i>/24, default route via .254) on lan0;
- its pod bridge ``cni0`` (``pod_bridge``, made when the agent learns the host's subnet: the role
  Docker's bridge network plays on a real node);
- ``<prefix>-h<i>p<j>``: the lab's j-th pod, its ``eth0`` on the host's cni0 with the ``j + 1``-th address of
  the subnet, default route via the bridge's ``.1``.

``async with NetnsLab() as lab`` deletes every namespace it made on the way out (their devices go
with them).
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import sys
from dataclasses import dataclass, field
from types import TracebackType

from actors.flannel.netlink import Host


@dataclass
class LabHost:
    index: int
    netns: str
    ip: str
    host: Host
    subnet: ipaddress.IPv4Network | None = None
    mtu: int = 1500
    pods: list[LabPod] = field(default_factory=list)


@dataclass
class LabPod:
    netns: str
    ip: str


class NetnsLab:
    def __init__(self, prefix: str | None = None, net: int = 77) -> None:
        self.prefix = prefix or f"jkn{secrets.token_hex(3)}"
        self.net = net
        self.lan = f"{self.prefix}-lan"
        self.made: list[str] = []
        self.root = Host()
        self.hosts: dict[str, LabHost] = {}
        self.pod_count = 0  # pods made so far (names and addresses are never reused)

    async def __aenter__(self) -> NetnsLab:
        await self._netns(self.lan)
        lan = Host(self.lan)
        await lan.run("ip", "link", "add", "lan0", "type", "bridge")
        await lan.run("ip", "link", "set", "lan0", "up")
        return self

    async def __aexit__(self, *exc: object | TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        for ns in reversed(self.made):
            await self.root.run("ip", "netns", "del", ns, check=False)
        self.made.clear()

    async def _netns(self, name: str) -> Host:
        await self.root.run("ip", "netns", "add", name)
        self.made.append(name)
        h = Host(name)
        await h.run("ip", "link", "set", "lo", "up")
        return h

    async def add_host(self, index: int, name: str | None = None) -> LabHost:
        netns = f"{self.prefix}-h{index}"
        h = await self._netns(netns)
        lan = Host(self.lan)
        peer = f"h{index}"
        await lan.run("ip", "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", netns)
        await lan.run("ip", "link", "set", peer, "master", "lan0", "up")
        ip = f"192.168.{self.net}.{index}"
        await h.run("ip", "addr", "add", f"{ip}/24", "dev", "eth0")
        await h.run("ip", "link", "set", "eth0", "up")
        await h.run("ip", "route", "add", "default", "via", f"192.168.{self.net}.254", "dev", "eth0")
        lh = LabHost(index, netns, ip, h)
        self.hosts[name or f"h{index}"] = lh
        return lh

    async def pod_bridge(self, lh: LabHost, subnet: ipaddress.IPv4Network, mtu: int) -> None:
        """The host's pod bridge on ``subnet`` (idempotent: the agent calls it on every start). On
        another subnet (the Node came back with a new one) the bridge is made again and the pods on
        the old one are dropped, as the kubelet's Docker network is."""
        moved = lh.subnet is not None and lh.subnet != subnet
        lh.subnet, lh.mtu = subnet, mtu
        h = lh.host
        if moved:
            await h.run("ip", "link", "del", "cni0", check=False)
            lh.pods.clear()
        if (await h.run("ip", "link", "show", "cni0", check=False))[0] != 0:
            await h.run("ip", "link", "add", "cni0", "type", "bridge")
        await h.run("ip", "link", "set", "cni0", "mtu", str(mtu), "up")
        await h.run(
            "ip", "addr", "replace", f"{subnet.network_address + 1}/{subnet.prefixlen}", "dev", "cni0"
        )

    async def add_pod(self, lh: LabHost) -> LabPod:
        assert lh.subnet is not None, "the host has no subnet yet"
        self.pod_count += 1
        j = self.pod_count
        netns = f"{lh.netns}p{j}"
        p = await self._netns(netns)
        ip = str(lh.subnet.network_address + 1 + j)
        veth = f"p{j}"
        await lh.host.run(
            "ip",
            "link",
            "add",
            veth,
            "mtu",
            str(lh.mtu),
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            netns,
        )
        await lh.host.run("ip", "link", "set", veth, "master", "cni0", "up")
        await p.run("ip", "link", "set", "eth0", "mtu", str(lh.mtu))
        await p.run("ip", "addr", "add", f"{ip}/{lh.subnet.prefixlen}", "dev", "eth0")
        await p.run("ip", "link", "set", "eth0", "up")
        await p.run("ip", "route", "add", "default", "via", str(lh.subnet.network_address + 1))
        pod = LabPod(netns, ip)
        lh.pods.append(pod)
        return pod


ECHO_SERVER = r"""
import socket, sys
proto, port = sys.argv[1], int(sys.argv[2])
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET, kind)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
if proto == "tcp":
    s.listen(8)
print("ready", flush=True)
while True:
    if proto == "tcp":
        c, peer = s.accept()
        c.recv(100)
        c.sendall(peer[0].encode())
        c.close()
    else:
        data, peer = s.recvfrom(100)
        s.sendto(peer[0].encode(), peer)
"""

ECHO_CLIENT = r"""
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
for attempt in range(20):
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(0.5)
    try:
        if proto == "tcp":
            s.connect((host, port)); s.sendall(b"hi"); print(s.recv(100).decode()); break
        s.sendto(b"hi", (host, port)); print(s.recvfrom(100)[0].decode()); break
    except OSError:
        continue
    finally:
        s.close()
"""


async def start_echo(netns: str, proto: str, port: int) -> asyncio.subprocess.Process:
    """An echo server in ``netns`` that answers each client with the client's address as it saw it."""
    proc = await asyncio.create_subprocess_exec(
        "ip",
        "netns",
        "exec",
        netns,
        sys.executable,
        "-c",
        ECHO_SERVER,
        proto,
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 10)
    assert line.strip() == b"ready"
    return proc


async def ask_echo(netns: str, proto: str, ip: str, port: int) -> str:
    """From ``netns``: the address the echo server at ``ip:port`` saw us at ("" if unreachable)."""
    proc = await asyncio.create_subprocess_exec(
        "ip",
        "netns",
        "exec",
        netns,
        sys.executable,
        "-c",
        ECHO_CLIENT,
        proto,
        ip,
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return out.decode().strip()
