"""The service proxy against a real control plane and the host's nat table, without Docker: a
selector-less Service whose Endpoints name echo servers on this host; TCP and UDP through the
ClusterIP from the host (the OUTPUT jump), a NodePort, the backends followed as the Endpoints
change, and the chain flushed of a crashed proxy's rules at start and removed at stop."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from random import randint as rnd
from typing import Any

import pytest

from actors.kubelet.process import host_ip
from actors.proxy.process import start_proxy
from actors.runtime.supervisor import Supervisor

pytestmark = pytest.mark.skipif(
    shutil.which("iptables") is None or os.geteuid() != 0, reason="the service proxy needs iptables and root"
)


def chain_rules(chain: str) -> list[str] | None:
    proc = subprocess.run(["iptables", "-t", "nat", "-S", chain], capture_output=True, text=True)
    return None if proc.returncode else [ln for ln in proc.stdout.splitlines() if ln.startswith("-A")]


def crashed_proxy_leftovers(chain: str) -> None:
    """What a crashed proxy leaves: its chain, with a stale redirect in it."""
    subprocess.run(["iptables", "-t", "nat", "-N", chain], check=True, capture_output=True)
    stale = ["-A", chain, "-d", "10.96.99.99/32", "-p", "tcp", "-j", "REDIRECT", "--to-ports", "1"]
    subprocess.run(["iptables", "-t", "nat", *stale], check=True, capture_output=True)


class Echo(asyncio.DatagramProtocol):
    def __init__(self, tag: bytes) -> None:
        self.tag = tag

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(self.tag + data, addr)


@pytest.fixture
async def backends() -> AsyncIterator[list[int]]:
    """Two servers, each answering TCP and UDP on one port with its tag ("a:" / "b:") + the request."""
    loop = asyncio.get_running_loop()
    closers: list[Any] = []
    ports = []
    for tag in (b"a:", b"b:"):

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter, tag: bytes = tag) -> None:
            w.write(tag + await r.readline())
            await w.drain()
            w.close()

        srv = await asyncio.start_server(handle, "0.0.0.0", 0)
        port = srv.sockets[0].getsockname()[1]
        udp, _ = await loop.create_datagram_endpoint(lambda tag=tag: Echo(tag), local_addr=("0.0.0.0", port))
        closers += [srv, udp]
        ports.append(port)
    yield ports
    for c in closers:
        c.close()


async def tcp(ip: str, port: int) -> str:
    r, w = await asyncio.wait_for(asyncio.open_connection(ip, port), 5)
    w.write(b"hi\n")
    await w.drain()
    out = await asyncio.wait_for(r.read(), 5)
    w.close()
    return out.decode().strip()


async def udp(ip: str, port: int) -> str:
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()

    class C(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if not got.done():
                got.set_result(data)

    t, _ = await loop.create_datagram_endpoint(C, remote_addr=(ip, port))
    try:
        t.sendto(b"hi")
        return (await asyncio.wait_for(got, 5)).decode()
    finally:
        t.close()


async def eventually(cond: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            got = await cond()
        except (OSError, TimeoutError):
            got = None
        if got:
            return got
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def chain() -> Iterator[str]:
    name = f"JKT-{uuid.uuid4().hex[:8]}"
    crashed_proxy_leftovers(name)
    yield name
    for args in (["-D", "PREROUTING", "-j", name], ["-D", "OUTPUT", "-j", name], ["-F", name], ["-X", name]):
        subprocess.run(["iptables", "-t", "nat", *args], capture_output=True)  # only if the test failed


class UdpClient(asyncio.DatagramProtocol):
    """One UDP socket kept across requests: its conntrack entry outlives an Endpoints change."""

    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.replies.put_nowait(data)

    async def ask(self, transport: asyncio.DatagramTransport) -> str:
        while not self.replies.empty():
            self.replies.get_nowait()
        transport.sendto(b"hi")
        return (await asyncio.wait_for(self.replies.get(), 1)).decode()


def vandalise(chain: str) -> None:
    for args in (["-D", "OUTPUT", "-j", chain], ["-F", chain]):
        subprocess.run(["iptables", "-t", "nat", *args], check=True, capture_output=True)


def all_chains() -> str:
    return "".join(subprocess.run(["iptables-save"], capture_output=True, text=True).stdout)


@pytest.mark.parametrize("mode", ["iptables", "userspace"])
async def test_proxy_tcp_udp_node_port_and_chain_lifecycle(
    bus: Any, api: Any, backends: list[int], chain: str, mode: str
) -> None:

    me = host_ip()
    pa, pb = backends
    node_port = rnd(30000, 32767)
    ports = [
        {"name": "t", "port": 7000, "protocol": "TCP", "nodePort": node_port},
        {"name": "u", "port": 7000, "protocol": "UDP", "nodePort": node_port},
    ]
    svc = await api.create(
        "services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "echo", "namespace": "default"},
            # the bare api actor allocates nothing (admission does): fixed addresses
            "spec": {"type": "NodePort", "ports": ports, "clusterIP": f"10.96.{rnd(1, 254)}.{rnd(1, 254)}"},
        },
    )
    ip = svc["spec"]["clusterIP"]

    def subsets(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
        return [
            {
                "addresses": [{"ip": me}],
                "ports": [
                    {"name": "t", "port": p, "protocol": "TCP"},
                    {"name": "u", "port": p, "protocol": "UDP"},
                ],
            }
            for _, p in pairs
        ]

    ep = await api.create(
        "endpoints",
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "echo", "namespace": "default"},
            "subsets": subsets(("a", pa)),
        },
    )
    sup = Supervisor("proxy-test")
    proxy = start_proxy(sup, bus, chain=chain, mode=mode, resync_period=1.0)
    try:

        async def first() -> bool:  # (this host's network may answer any TCP address: compare)
            return await tcp(ip, 7000) == "a:hi"

        await eventually(first, "the ClusterIP over TCP")
        rules = chain_rules(chain) or []
        assert not any("10.96.99.99" in r for r in rules), rules  # flushed at start
        assert any(f"{ip}/32" in r and "tcp" in r for r in rules) and any("udp" in r for r in rules)
        assert await tcp(ip, 7000) == "a:hi"
        assert await udp(ip, 7000) == "a:hi"
        assert await tcp("127.0.0.1", node_port) == "a:hi"
        assert await tcp(me, node_port) == "a:hi"
        loop = asyncio.get_running_loop()
        kept, client = await loop.create_datagram_endpoint(UdpClient, remote_addr=(ip, 7000))
        assert await client.ask(kept) == "a:hi"

        # the Endpoints move to the other server: new connections follow
        ep["subsets"] = subsets(("b", pb))
        await api.update("endpoints", ep)

        async def moved() -> bool:
            return await tcp(ip, 7000) == "b:hi" and await udp(ip, 7000) == "b:hi"

        await eventually(moved, "TCP and UDP to follow the Endpoints")
        assert proxy.backends_of("default", "echo", "t") == [(me, pb)]

        # a UDP client that kept its socket follows too (iptables mode: its conntrack entry flushed)
        async def kept_moved() -> bool:
            return await client.ask(kept) == "b:hi"

        await eventually(kept_moved, "the kept UDP socket to reach the new endpoint")
        kept.close()

        # someone flushes the proxy's chain and removes its OUTPUT jump: the periodic resync
        # puts both back
        await asyncio.to_thread(vandalise, chain)

        async def back() -> bool:
            return await tcp(ip, 7000) == "b:hi"

        await eventually(back, "the ClusterIP to answer again after the resync")
    finally:
        await sup.stop()
    assert chain_rules(chain) is None  # removed at stop
    if mode == "iptables":
        prefix = proxy.names.prefix  # type: ignore[attr-defined]
        assert f"{prefix}-" not in all_chains(), "chains left behind"
