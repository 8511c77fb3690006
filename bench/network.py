"""Service proxy benchmark: requests/s through a ClusterIP against the same pod reached directly,
and the time from an Endpoints change to the proxy acting on it.

    python -m bench.network [--duration 5] [--connections 32] [--changes 200] [--rounds 2]
                            [--proxy-mode both|iptables|userspace]

One process: embedded NATS, the control plane, a kubelet on the local Docker engine and the service
proxy, once per mode (its own chains, removed after its figures). One nginx pod behind a Service;
``wrk`` (Debian package) hammers the pod's IP, then the Service's ClusterIP, alternated: in
iptables mode the host's OUTPUT rules DNAT the ClusterIP to the pod (the kernel carries every
byte); in userspace mode they redirect it to the proxy's relay, in this process's event loop.

Endpoint latency: a selector-less Service whose Endpoints the benchmark rewrites ``--changes``
times, alternating between two addresses; for each write, the time from sending the update to the
proxy's balancer holding the new address (polled every event-loop turn), and the proxy's own
figure (first informer event to the end of its sync). Needs root, iptables, Docker and wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import write_results

NGINX = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "bench-nginx", "namespace": "default", "labels": {"app": "bench-nginx"}},
    "spec": {
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "nginx", "image": "nginx", "imagePullPolicy": "IfNotPresent"}],
    },
}


def _svc(name: str, selector: dict[str, str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"port": 80, "targetPort": 80}]}
    if selector:
        spec["selector"] = selector
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def _endpoints(name: str, ip: str, rv: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if rv:
        meta["resourceVersion"] = rv
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": meta,
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 80, "protocol": "TCP"}]}],
    }


async def _wrk(url: str, duration: float, connections: int) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    text = out.decode()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    if rps is None:
        raise RuntimeError(f"wrk {url}: {text or err.decode()}")

    def ms(m: re.Match[str] | None) -> float:
        if m is None:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    return {
        "rps": float(rps.group(1)),
        "p50_ms": ms(p50),
        "p99_ms": ms(p99),
        "errors": errors.group(1) if errors else "",
    }


async def _until(cond: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await cond()
        if got:
            return got
        await asyncio.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


async def run(
    duration: float = 5.0,
    connections: int = 32,
    changes: int = 200,
    rounds: int = 2,
    modes: tuple[str, ...] = ("iptables", "userspace"),
) -> dict[str, Any]:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.kubelet.process import start_kubelet
    from actors.runtime.supervisor import Supervisor
    from bus.client import ApiClient
    from bus.connection import Bus
    from bus.embedded import EmbeddedNats, free_port
    from bus.store import Store
    from schemas.errors import JetkubeError

    run_id = uuid.uuid4().hex[:6]
    node = f"bench-net-{run_id}"
    per_mode: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="jetkube-bench-net-") as tmp:
        server = EmbeddedNats(data_dir=Path(tmp) / "nats", port=free_port())
        server.start()
        bus = await Bus.connect(server.url, name="bench-network")
        sup = Supervisor("bench-network")
        try:
            store = await Store.open(bus)
            start_control_plane(sup, bus, store, ControlPlaneSettings(retry_period=0.5))
            api = ApiClient(bus)
            kubelet = await start_kubelet(
                sup, bus, node_name=node, state_dir=str(Path(tmp) / "k"), resync_period=2
            )
            if not kubelet:
                raise RuntimeError("no Docker engine")

            async def api_up() -> bool:
                try:
                    await api.get("namespaces", "default")
                    return True
                except JetkubeError:
                    return False

            await _until(api_up, 60, "the api")
            await api.create("pods", NGINX)
            await api.create("services", _svc("bench-nginx", {"app": "bench-nginx"}))

            async def pod_ip() -> str | None:
                try:
                    ep = await api.get("endpoints", "bench-nginx", "default")
                except JetkubeError:  # not written yet
                    return None
                ips = [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
                return str(ips[0]) if ips else None

            ip = await _until(pod_ip, 120, "nginx Ready behind its Service")
            cluster_ip = (await api.get("services", "bench-nginx", "default"))["spec"]["clusterIP"]
            await api.create("services", _svc("bench-ep", None))
            cur = await api.create("endpoints", _endpoints("bench-ep", "10.1.0.1"))
            for mode in modes:
                per_mode[mode], cur = await _one_mode(
                    bus, api, mode, f"JKB-{run_id}-{mode[0]}", ip, cluster_ip, cur,
                    duration, connections, changes, rounds,
                )  # fmt: skip
        finally:
            await sup.stop()
            await bus.close()
            await server.astop()
            rm = await asyncio.create_subprocess_exec(
                "docker", "rm", "-f", *_containers(node), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            await rm.wait()
    first = per_mode[modes[0]]
    return {
        "connections": connections,
        "duration_s": duration,
        "rounds": rounds,
        "proxy_mode": modes[0],
        "direct": first["direct"],
        "cluster_ip": first["cluster_ip"],
        "ratio": first["ratio"],
        "endpoint_change": first["endpoint_change"],
        "modes": per_mode,
    }


async def _one_mode(
    bus: Any,
    api: Any,
    mode: str,
    chain: str,
    ip: str,
    cluster_ip: str,
    cur: dict[str, Any],
    duration: float,
    connections: int,
    changes: int,
    rounds: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One proxy in ``mode`` (its own chains, removed at the end): wrk to the pod and through the
    ClusterIP, alternated; then the Endpoints changes. Returns the figures and the last Endpoints."""
    from actors.proxy.process import start_proxy
    from actors.runtime.supervisor import Supervisor

    sup = Supervisor(f"bench-proxy-{mode}")
    proxy = start_proxy(sup, bus, chain=chain, mode=mode)
    try:
        await _until(lambda: _serves(proxy, "bench-nginx"), 30, f"the {mode} proxy to serve nginx")
        await _until(lambda: _get_ok(cluster_ip), 10, "the ClusterIP to answer")
        # alternated, best of ``rounds`` each: the machine's other load moves single runs a lot
        directs, vias = [], []
        for _ in range(rounds):
            directs.append(await _wrk(f"http://{ip}:80/", duration, connections))
            vias.append(await _wrk(f"http://{cluster_ip}:80/", duration, connections))
        direct = max(directs, key=lambda r: r["rps"])
        via = max(vias, key=lambda r: r["rps"])

        # endpoint change -> proxy
        first = cur["subsets"][0]["addresses"][0]["ip"]
        await _until(lambda: _has(proxy, first), 10, "the first endpoints")
        proxy.stats.latencies.clear()
        seen: list[float] = []
        for i in range(changes):
            want = f"10.1.0.{2 + i % 2}"
            if want == first and i == 0:
                want = "10.1.0.4"
            t0 = time.perf_counter()
            cur = await api.update(
                "endpoints", _endpoints("bench-ep", want, cur["metadata"]["resourceVersion"])
            )
            while not await _has(proxy, want):  # noqa: ASYNC110 - the poll is the measurement
                await asyncio.sleep(0)
            seen.append(time.perf_counter() - t0)
        own = list(proxy.stats.latencies)
    finally:
        await sup.stop()

    def pct(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")

    return {
        "direct": direct,
        "cluster_ip": via,
        "ratio": via["rps"] / direct["rps"] if direct["rps"] else 0.0,
        # each round's ClusterIP run against the direct run just before it: less moved by load
        # that drifts over the whole benchmark than the best-of ratio
        "paired_ratio_median": statistics.median(
            v["rps"] / d["rps"] for d, v in zip(directs, vias, strict=True) if d["rps"]
        ),
        "endpoint_change": {
            "changes": changes,
            "update_to_proxy_p50_ms": pct(seen, 0.5),
            "update_to_proxy_p99_ms": pct(seen, 0.99),
            "update_to_proxy_max_ms": max(seen) * 1000 if seen else float("nan"),
            "informer_to_synced_p50_ms": pct(own, 0.5),
            "informer_to_synced_mean_ms": statistics.mean(own) * 1000 if own else float("nan"),
        },
    }, cur


async def _serves(proxy: Any, name: str) -> bool:
    return bool(proxy.backends_of("default", name))


async def _has(proxy: Any, ip: str) -> bool:
    return any(b[0] == ip for b in proxy.backends_of("default", "bench-ep"))


async def _get_ok(ip: str) -> bool:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, 80), 2)
        writer.write(b"GET / HTTP/1.0\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 2)
        writer.close()
        return b"200 OK" in data
    except (OSError, TimeoutError):
        return False


def _containers(node: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.jetkube.node={node}"], capture_output=True, text=True
    )
    return out.stdout.split() or ["--"]


def check_host() -> str | None:
    """Why this benchmark cannot run here, or None."""
    import os

    for tool in ("wrk", "iptables", "docker"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if os.geteuid() != 0:
        return "needs root (the proxy writes the nat table)"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.network", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs per path, alternated; best kept")
    parser.add_argument(
        "--proxy-mode",
        choices=("both", "iptables", "userspace"),
        default="both",
        help="which proxy modes to measure (both: iptables, then userspace)",
    )
    args = parser.parse_args()
    why = check_host()
    if why:
        raise SystemExit(f"bench.network: {why}")
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    from images.build import ensure_images

    ensure_images(["pause", "nginx"])
    modes = ("iptables", "userspace") if args.proxy_mode == "both" else (args.proxy_mode,)
    res = asyncio.run(run(args.duration, args.connections, args.changes, args.rounds, modes))
    path = write_results("network", res)
    for mode, m in res["modes"].items():
        d, c, e = m["direct"], m["cluster_ip"], m["endpoint_change"]
        print(f"[{mode} mode]")
        for label, r in (("pod directly:", d), ("through ClusterIP:", c)):
            print(f"{label:<20} {r['rps']:>10,.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms")
        print(
            f"ratio:               {m['ratio']:.2f}"
            f" (best of each; per round, median {m['paired_ratio_median']:.2f})"
        )
        print(
            f"endpoint change -> proxy: p50 {e['update_to_proxy_p50_ms']:.1f} ms,"
            f" p99 {e['update_to_proxy_p99_ms']:.1f} ms"
            f" (informer -> synced p50 {e['informer_to_synced_p50_ms']:.2f} ms)"
        )
    print(f"json: {path}")


if __name__ == "__main__":
    main()
