"""Pod network benchmark (actors/flannel): throughput across hosts against within one host, the time
from a Node joining to every other node routing to it, and what the pod bridge adds to pod start.

    python -m bench.pod_network [--duration 5] [--rounds 3] [--joins 5] [--hosts 3] [--pods 40]
        [--only throughput,join,start]

Hosts are network namespaces on one machine (tests/netns_hosts.py: a shared L2 bridge between
them, a pod bridge in each, pods as namespaces), each programmed by its own flannel agent exactly as
the kubelet runs it, against an in-process control plane (embedded NATS, node IPAM):

- **throughput**: ``iperf3`` (Debian package) TCP for ``--duration`` s from a pod on host 1 to a pod
  on host 2, against the same pod to a second pod on host 1; per backend (vxlan, host-gw),
  alternated ``--rounds`` times; the median of the rounds' ratios. All "hosts" share this machine's CPUs,
  so the cross-host path pays its encapsulation on the same cores as both ends.
- **join**: ``--hosts`` agents run (vxlan); then ``--joins`` times a new host joins (its Node
  registered bare, as a kubelet does; the control plane allocates its subnet; its agent publishes
  its annotations): the time from the Node's create to every other host having the route.
- **start**: on the local Docker engine, an infra container (pause) created and started and its IP
  read, ``--pods`` times, on a pod bridge as ``--pod-network flannel`` makes it (no masquerade)
  against Docker's default bridge (``--pod-network docker``) and ``--network none``.

Needs root, ip, iptables, iperf3 (throughput) and Docker (start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.common import percentile, write_results

CLUSTER = "10.252.0.0/16"


@contextlib.asynccontextmanager
async def control_plane() -> AsyncIterator[Any]:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.runtime.supervisor import Supervisor
    from bus.client import ApiClient
    from bus.connection import Bus
    from bus.embedded import EmbeddedNats, free_port
    from bus.store import Store

    with tempfile.TemporaryDirectory(prefix="jetkube-podnet-") as tmp:
        server = EmbeddedNats(data_dir=Path(tmp) / "nats", port=free_port())
        server.start()
        bus = await Bus.connect(server.url, name="bench-podnet")
        sup = Supervisor("bench-podnet")
        try:
            store = await Store.open(bus)
            settings = ControlPlaneSettings(retry_period=0.2, controllers=("nodeipam",), cluster_cidr=CLUSTER)
            start_control_plane(sup, bus, store, settings)
            api = ApiClient(bus)
            for _ in range(200):
                try:
                    await api.get("namespaces", "default")
                    break
                except Exception:
                    await asyncio.sleep(0.05)
            yield api, sup
        finally:
            await sup.stop()
            await bus.close()
            await server.astop()


@contextlib.asynccontextmanager
async def agents() -> AsyncIterator[Any]:
    """The agents' supervisor: stopped before their namespaces go."""
    from actors.runtime.supervisor import Supervisor

    sup = Supervisor("bench-podnet-agents")
    try:
        yield sup
    finally:
        await sup.stop()


async def until(check: Any, interval: float = 0.002) -> None:
    """Poll ``check`` (the kernel's tables have no event to wait on)."""
    while True:
        if await check():
            return
        await asyncio.sleep(interval)


async def join(api: Any, lab: Any, sup: Any, index: int, backend: str) -> tuple[Any, Any]:
    from actors.flannel.agent import FlannelAgent, FlannelSettings

    name = f"{lab.prefix}-n{index}"
    lh = await lab.add_host(index, name)

    async def on_subnet(subnet: ipaddress.IPv4Network, mtu: int) -> None:
        await lab.pod_bridge(lh, subnet, mtu)

    await api.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    settings = FlannelSettings(backend=backend, iface="eth0", cluster_cidr=CLUSTER)  # type: ignore[arg-type]
    agent = FlannelAgent(api, name, settings, lh.host, on_subnet=on_subnet)
    agent.start(sup)
    return lh, agent


async def iperf(client_ns: str, server_ns: str, server_ip: str, duration: float) -> float:
    """Gbit/s received by an iperf3 server in ``server_ns`` from a client in ``client_ns``."""
    server = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", server_ns, "iperf3", "-s", "-1", "-B", server_ip,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(50):
            proc = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", client_ns, "iperf3", "-c", server_ip, "-t", str(duration), "-J",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            out, _ = await proc.communicate()
            data = json.loads(out or b"{}")
            if "end" in data and not data.get("error"):
                return float(data["end"]["sum_received"]["bits_per_second"]) / 1e9
            await asyncio.sleep(0.1)  # the server was not listening yet
        raise RuntimeError(f"iperf3 to {server_ip} failed: {data.get('error')}")
    finally:
        if server.returncode is None:
            server.kill()
        await server.wait()


async def throughput(duration: float, rounds: int) -> dict[str, Any]:
    from tests.netns_hosts import NetnsLab

    out: dict[str, Any] = {}
    for backend in ("vxlan", "host-gw"):
        async with control_plane() as (api, _), NetnsLab() as lab, agents() as sup:
            h1, a1 = await join(api, lab, sup, 1, backend)
            h2, a2 = await join(api, lab, sup, 2, backend)
            await asyncio.wait_for(a1.ready.wait(), 30)
            await asyncio.wait_for(a2.ready.wait(), 30)

            async def routed(h1: Any = h1, h2: Any = h2) -> bool:
                return str(h2.subnet) in (await h1.host.run("ip", "route"))[1]

            await until(routed)
            p1, p1b, p2 = await lab.add_pod(h1), await lab.add_pod(h1), await lab.add_pod(h2)
            across: list[float] = []
            within: list[float] = []
            for _ in range(rounds):
                within.append(await iperf(p1.netns, p1b.netns, p1b.ip, duration))
                across.append(await iperf(p1.netns, p2.netns, p2.ip, duration))
            a, w = statistics.median(across), statistics.median(within)
            # each round's pair ran back to back: its ratio is less exposed to the machine's load
            ratios = [x / y for x, y in zip(across, within, strict=True)]
            out[backend] = {
                "across_gbps": [round(x, 2) for x in across],
                "within_gbps": [round(x, 2) for x in within],
                "round_ratios": [round(r, 2) for r in ratios],
                "ratio": round(statistics.median(ratios), 2),
                "pod_mtu": h1.mtu,
            }
            print(
                f"{backend}: across {a:.2f} Gbit/s, within {w:.2f} Gbit/s (medians); per-round ratios "
                f"{', '.join(f'{r:.2f}' for r in ratios)}: median {statistics.median(ratios):.2f}x "
                f"(pod MTU {h1.mtu})"
            )
    return out


async def join_time(hosts: int, joins: int) -> dict[str, Any]:
    from tests.netns_hosts import NetnsLab

    times: list[float] = []
    async with control_plane() as (api, _), NetnsLab() as lab, agents() as sup:
        members = []
        for i in range(1, hosts + 1):
            lh, _agent = await join(api, lab, sup, i, "vxlan")
            members.append(lh)
        for lh in members:
            await until(lambda lh=lh: asyncio.sleep(0, lh.subnet is not None))
        await asyncio.sleep(1.0)  # the starting agents settle
        for j in range(joins):
            index = hosts + 1 + j
            t0 = time.monotonic()
            lh, _ = await join(api, lab, sup, index, "vxlan")
            await until(lambda lh=lh: asyncio.sleep(0, lh.subnet is not None))
            pending = list(members)
            while pending:
                tables = [(m, (await m.host.run("ip", "route", "show", str(lh.subnet)))[1]) for m in pending]
                pending = [m for m, table in tables if "via" not in table]
                await asyncio.sleep(0.005 if pending else 0)
            times.append(time.monotonic() - t0)
            members.append(lh)
            n, ms = len(members) - 1, times[-1] * 1000
            print(f"join {j + 1}: every one of {n} hosts routes to it after {ms:.0f} ms")
    return {
        "hosts_before": hosts,
        "joins": joins,
        "ms": [round(t * 1000) for t in times],
        "p50_ms": round(percentile(times, 50) * 1000),
        "max_ms": round(max(times) * 1000),
    }


async def pod_start(pods: int) -> dict[str, Any]:
    from actors.kubelet.docker_runtime import DockerRuntime

    node = f"bench-podnet-{uuid.uuid4().hex[:6]}"
    network = f"jetkube-pods-{node}"
    subnet = ipaddress.IPv4Network("10.254.77.0/24")
    with tempfile.TemporaryDirectory(prefix="jetkube-podnet-") as tmp:
        rt = await DockerRuntime.connect(state_dir=tmp)
        try:
            await rt.ensure_bridge_network(network, str(subnet), str(subnet.network_address + 1), 1450)
            timings: dict[str, list[float]] = {"pod bridge": [], "docker bridge": [], "none": []}
            nets = {"pod bridge": network, "docker bridge": "bridge", "none": "none"}
            for i in range(pods):
                for label, net in nets.items():
                    t0 = time.perf_counter()
                    sb = await rt.create_sandbox(
                        f"default/p{i}-{net}", uuid.uuid4().hex, node, f"p{i}", network=net
                    )
                    timings[label].append(time.perf_counter() - t0)
                    assert net == "none" or sb.ip, f"no IP on {net}"
                    await rt.remove(sb.id)
        finally:
            for c in await rt.list(node):
                await rt.remove(c.id)
            await rt.remove_network(network)
            await rt.close()
    out: dict[str, Any] = {}
    for label, values in timings.items():
        out[label] = {
            "p50_ms": round(percentile(values, 50) * 1000, 1),
            "p99_ms": round(percentile(values, 99) * 1000, 1),
        }
    base = timings["none"]
    for label in ("pod bridge", "docker bridge"):
        added = {
            "p50_ms": round((percentile(timings[label], 50) - percentile(base, 50)) * 1000, 1),
            "p99_ms": round((percentile(timings[label], 99) - percentile(base, 99)) * 1000, 1),
        }
        out[label]["added_over_none"] = added
        print(
            f"{label}: sandbox to IP p50 {out[label]['p50_ms']} / p99 {out[label]['p99_ms']} ms; "
            f"over --network none: +{added['p50_ms']} / +{added['p99_ms']} ms"
        )
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    only = set(args.only.split(","))
    res: dict[str, Any] = {}
    if "throughput" in only:
        if shutil.which("iperf3") is None:
            raise SystemExit("iperf3 is missing: apt-get install iperf3")
        res["throughput"] = await throughput(args.duration, args.rounds)
    if "join" in only:
        res["join"] = await join_time(args.hosts, args.joins)
    if "start" in only:
        res["start"] = await pod_start(args.pods)
    return res


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pod_network", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--joins", type=int, default=5)
    parser.add_argument("--pods", type=int, default=40)
    parser.add_argument("--only", default="throughput,join,start")
    args = parser.parse_args()
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    res = asyncio.run(run(args))
    path = write_results("pod_network", {"args": vars(args), **res})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
