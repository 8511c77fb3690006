"""The Kubernetes API gateway's cost: pod creates per second over HTTPS (actors/gateway, bearer
token, JSON) against the NATS api path (bus/client.py), at 1 and 32 clients, on one `jetkube up`.

    python -m bench.gateway [--count 2000] [--clients 1,32]

The HTTPS clients share one keep-alive connection pool (as client-go does); the NATS clients are
the ``bench.api`` ones. Goal: HTTPS at ≥ 0.8× the NATS path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import tempfile
import time
import uuid
from pathlib import Path

from bench.api import api_creates, small_pod
from bench.common import percentile, print_table, write_results


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


async def run(url: str, base: str, token: str, ca: Path, count: int, client_counts: list[int]) -> dict:
    results: dict = {}
    for clients in client_counts:
        results[f"nats_{clients}"] = await api_creates(url, count, clients)
        results[f"https_{clients}"] = await https_creates(base, token, ca, count, clients)
    return results


def main() -> None:
    from bus.embedded import free_port
    from cli.localcluster import LocalCluster

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--clients", default="1,32")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
        data = Path(tmp)
        with LocalCluster(data, apiserver_port=port, log_level="warning") as cluster:
            token = json.loads((data / "auth.json").read_text())["users"]["admin"]
            base = f"https://127.0.0.1:{port}"
            results = asyncio.run(run(cluster.url, base, token, data / "pki" / "ca.crt", args.count, counts))
    rows = [("figure", "value", "goal")]
    for clients in counts:
        n, h = results[f"nats_{clients}"], results[f"https_{clients}"]
        rows.append((f"NATS api creates/s, {clients} client(s)", f"{n['per_s']:.0f}", ""))
        rows.append(("  p50 / p99 ms", f"{n['p50_ms']:.2f} / {n['p99_ms']:.2f}", ""))
        rows.append(
            (
                f"HTTPS creates/s, {clients} client(s)",
                f"{h['per_s']:.0f}",
                f"{h['per_s'] / n['per_s']:.2f}× (≥ 0.8×)",
            )
        )
        rows.append(("  p50 / p99 ms", f"{h['p50_ms']:.2f} / {h['p99_ms']:.2f}", ""))
    print_table(rows)
    print(f"json: {write_results('gateway', results)}")


if __name__ == "__main__":
    main()
