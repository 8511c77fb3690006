"""The Kubernetes API gateway's cost: pod creates per second over HTTPS (actors/gateway, bearer
token, JSON) against the NATS api path (bus/client.py), at 1 and 32 clients, on one `jetkube up`.

    python -m bench.gateway [--count 1000] [--clients 1,32] [--rounds 3]

The reference is the NATS path as the ``jetkube`` CLI takes it: the ``admin`` user's credentials,
so its requests go to the user subjects ``jetkube.api.u.admin.<verb>`` and are authorized as
admin's, as the gateway's requests for the admin token are. The control plane's trusted subjects
(no authorization, the controllers' own priority level) are measured too, for comparison only.
The HTTPS clients share one keep-alive connection pool (as client-go does); the NATS clients are
the ``bench.api`` ones. Each round measures the three paths one after the other, so each ratio
compares figures taken under the same load; the spread over the rounds is printed.
Goal: HTTPS at ≥ 0.8× the NATS path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path

from bench.api import api_creates, small_pod
from bench.common import percentile, print_table, write_results
from bench.topology import cpu_seconds


async def https_creates(base: str, token: str, ca: Path, count: int, clients: int) -> dict:
    import aiohttp

    ctx = ssl.create_default_context(cafile=str(ca))
    prefix = uuid.uuid4().hex[:6]
    latencies: list[float] = []
    per_client = count // clients
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(ssl=ctx, limit=clients)
    async with aiohttp.ClientSession(base_url=base, connector=connector, headers=headers) as session:

        async def client(c: int) -> None:
            for i in range(per_client):
                body = json.dumps(small_pod(f"h{prefix}-{c}-{i}"))
                t0 = time.perf_counter()
                async with session.post("/api/v1/namespaces/default/pods", data=body) as resp:
                    await resp.read()
                    assert resp.status == 201, resp.status
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        elapsed = time.perf_counter() - t0
    n = per_client * clients
    return {
        "creates": n,
        "per_s": n / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


async def echo_requests(base: str, ca: Path, count: int, clients: int) -> dict:
    """The ceiling: a bare aiohttp TLS handler (``ECHO_SERVER``, a process of its own) that sends
    back the request's body, driven by the same client as :func:`https_creates`."""
    import aiohttp

    ctx = ssl.create_default_context(cafile=str(ca))
    body = json.dumps(small_pod("echo"))
    per_client = count // clients
    connector = aiohttp.TCPConnector(ssl=ctx, limit=clients)
    async with aiohttp.ClientSession(base_url=base, connector=connector) as session:

        async def client() -> None:
            for _ in range(per_client):
                async with session.post("/echo", data=body) as resp:
                    await resp.read()
                    assert resp.status == 201, resp.status

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    return {"requests": per_client * clients, "per_s": per_client * clients / elapsed}


ECHO_SERVER = """
import ssl, sys
from aiohttp import web
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
async def echo(request):
    return web.Response(body=await request.read(), status=201, content_type="application/json")
app = web.Application()
app.add_routes([web.post("/echo", echo)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), ssl_context=ctx, access_log=None, print=None)
"""


class CpuMeter:
    """CPU seconds per 1,000 creates of the cluster's process (``jetkube up``), its nats-server and
    this benchmark's process (the clients) while one path runs: a figure the other users of a
    shared machine disturb far less than a rate."""

    def __init__(self, up_pid: int) -> None:
        self.up = up_pid
        children = Path(f"/proc/{up_pid}/task/{up_pid}/children").read_text().split()
        self.children = [int(c) for c in children]

    def sample(self) -> tuple[float, float, float]:
        own = os.times()
        return cpu_seconds(self.up), sum(cpu_seconds(c) for c in self.children), own.user + own.system

    async def measure(self, what: Awaitable[dict]) -> dict:
        before = self.sample()
        result = await what
        after = self.sample()
        per = 1000 / result["creates"]
        names = ("up", "nats_server", "clients")
        result["cpu_ms"] = {n: (b - a) * per for n, a, b in zip(names, before, after, strict=True)}
        return result


async def run(
    trusted_url: str,
    admin_url: str,
    base: str,
    token: str,
    ca: Path,
    meter: CpuMeter,
    echo_base: str,
    count: int,
    client_counts: list[int],
    rounds: int,
) -> dict:
    results: dict = {"rounds": []}
    for _ in range(rounds):
        one: dict = {}
        for clients in client_counts:
            one[f"nats_{clients}"] = await meter.measure(api_creates(admin_url, count, clients))
            one[f"https_{clients}"] = await meter.measure(https_creates(base, token, ca, count, clients))
            one[f"trusted_{clients}"] = await meter.measure(api_creates(trusted_url, count, clients))
            one[f"echo_{clients}"] = await echo_requests(echo_base, ca, count, clients)
        results["rounds"].append(one)
    return results


def _spread(values: list[float], fmt: str) -> str:
    shown = " / ".join(format(v, fmt) for v in values)
    return shown if len(values) == 1 else f"{shown} (median {format(statistics.median(values), fmt)})"


def _cpu(runs: list[dict]) -> str:
    return " / ".join(
        f"{c['up']:.2f}+{c['nats_server']:.2f}+{c['clients']:.2f}" for c in (r["cpu_ms"] for r in runs)
    )


async def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def main() -> None:
    from bus.embedded import free_port
    from cli.localcluster import LocalCluster

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--clients", default="1,32")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each path, interleaved")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    port, echo_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
        data = Path(tmp)
        with LocalCluster(data, apiserver_port=port, log_level="warning") as cluster:
            assert cluster.process is not None
            token = json.loads((data / "auth.json").read_text())["users"]["admin"]
            pki = data / "pki"
            cert, key = str(pki / "apiserver.crt"), str(pki / "apiserver.key")
            echo = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(echo_port), cert, key])
            try:
                asyncio.run(_wait_port(echo_port))
                results = asyncio.run(
                    run(
                        cluster.url,
                        cluster.login("admin"),
                        f"https://127.0.0.1:{port}",
                        token,
                        pki / "ca.crt",
                        CpuMeter(cluster.process.pid),
                        f"https://127.0.0.1:{echo_port}",
                        args.count,
                        counts,
                        args.rounds,
                    )
                )
            finally:
                echo.terminate()
                echo.wait(10)
    rounds = results["rounds"]
    rows = [("figure (each round, in order)", "value", "goal")]
    for clients in counts:
        nats = [r[f"nats_{clients}"] for r in rounds]
        https = [r[f"https_{clients}"] for r in rounds]
        trusted = [r[f"trusted_{clients}"] for r in rounds]
        ratios = [h["per_s"] / n["per_s"] for h, n in zip(https, nats, strict=True)]
        results[f"ratio_{clients}"] = ratios
        trusted_ratios = [h["per_s"] / t["per_s"] for h, t in zip(https, trusted, strict=True)]
        c = f"{clients} client(s)"
        rows += [
            (f"NATS api (admin) creates/s, {c}", _spread([n["per_s"] for n in nats], ".0f"), ""),
            ("  p50 ms", _spread([n["p50_ms"] for n in nats], ".2f"), ""),
            ("  CPU ms/create: up + nats-server + clients", _cpu(nats), ""),
            (f"HTTPS creates/s, {c}", _spread([h["per_s"] for h in https], ".0f"), ""),
            ("  p50 ms", _spread([h["p50_ms"] for h in https], ".2f"), ""),
            ("  CPU ms/create: up + nats-server + clients", _cpu(https), ""),
            (f"  HTTPS / NATS, {c}", _spread(ratios, ".2f"), "≥ 0.8×"),
            (f"NATS trusted subjects creates/s, {c}", _spread([t["per_s"] for t in trusted], ".0f"), ""),
            ("  CPU ms/create: up + nats-server + clients", _cpu(trusted), ""),
            (f"  HTTPS / NATS trusted, {c}", _spread(trusted_ratios, ".2f"), "(not the goal's reference)"),
            (
                f"bare aiohttp TLS echo requests/s, {c}",
                _spread([r[f"echo_{clients}"]["per_s"] for r in rounds], ".0f"),
                "ceiling",
            ),
        ]
    print_table(rows)
    print(f"json: {write_results('gateway', results)}")


if __name__ == "__main__":
    main()
