"""Api throughput: creates per second and p50/p99 latency at 1 and 32 clients on `jetkube up`,
beside the physical limit measured in the same run (raw JetStream KV creates of the same payloads,
awaited one by one and pipelined with publish_async).

    python -m bench.api [--count 4000] [--clients 1,32]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from bench.common import cluster_process, percentile, print_table, write_results
from bus.codec import encode


def small_pod(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "bench"}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox:1.36",
                    "command": ["sleep", "3600"],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ]
        },
    }


async def api_creates(url: str, count: int, clients: int) -> dict:
    from bus.client import ApiClient
    from bus.connection import Bus

    buses = [await Bus.connect(url) for _ in range(min(clients, 4))]
    apis = [ApiClient(b) for b in buses]
    prefix = uuid.uuid4().hex[:6]
    latencies: list[float] = []
    per_client = count // clients

    async def client(c: int) -> None:
        api = apis[c % len(apis)]
        for i in range(per_client):
            t0 = time.perf_counter()
            await api.create("pods", small_pod(f"b{prefix}-{c}-{i}"))
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    elapsed = time.perf_counter() - t0
    for b in buses:
        await b.close()
    n = per_client * clients
    return {
        "creates": n,
        "per_s": n / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


async def raw_limits(url: str, count: int, clients: int) -> dict:
    from bus.connection import Bus
    from bus.store import Store

    bus = await Bus.connect(url)
    store = await Store.open(bus, bucket="benchraw")
    prefix = uuid.uuid4().hex[:6]
    payloads = [encode(small_pod(f"r{prefix}-{i}")) for i in range(count)]
    headers = {"Nats-Expected-Last-Subject-Sequence": "0"}
    per_client = count // clients

    async def client(c: int) -> None:
        for i in range(per_client):
            k = c * per_client + i
            await bus.js.publish(f"{store.prefix}pods.default.r{prefix}-{k}", payloads[k], headers=headers)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    sync_rate = per_client * clients / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    futs = [
        await bus.js.publish_async(f"{store.prefix}pods.default.a{prefix}-{i}", p, headers=dict(headers))
        for i, p in enumerate(payloads)
    ]
    await asyncio.gather(*futs)
    async_rate = count / (time.perf_counter() - t0)
    await bus.close()
    return {"kv_create_per_s": sync_rate, "publish_async_per_s": async_rate}


async def run(url: str, count: int, client_counts: list[int]) -> dict:
    results: dict = {}
    for clients in client_counts:
        results[f"api_{clients}"] = await api_creates(url, count, clients)
        results[f"raw_{clients}"] = await raw_limits(url, count, clients)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--clients", default="1,32")
    parser.add_argument("--server", default=None, help="use a running cluster instead of starting one")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    if args.server:
        results = asyncio.run(run(args.server, args.count, counts))
    else:
        with cluster_process() as url:
            results = asyncio.run(run(url, args.count, counts))
    rows = [("figure", "value", "target / limit")]
    for clients in counts:
        a, r = results[f"api_{clients}"], results[f"raw_{clients}"]
        target = "≥ 4,000/s at p99 ≤ 20 ms" if clients > 1 else "≥ 1,500/s"
        rows.append((f"api creates/s, {clients} client(s)", f"{a['per_s']:.0f}", target))
        rows.append(("  p50 / p99 ms", f"{a['p50_ms']:.2f} / {a['p99_ms']:.2f}", ""))
        rows.append(
            (
                f"  raw KV creates/s, {clients} client(s)",
                f"{r['kv_create_per_s']:.0f}",
                f"api = {a['per_s'] / r['kv_create_per_s']:.0%} of it",
            )
        )
        rows.append(
            (
                "  raw publish_async/s",
                f"{r['publish_async_per_s']:.0f}",
                f"api = {a['per_s'] / r['publish_async_per_s']:.0%} of it",
            )
        )
    print_table(rows)
    print(f"json: {write_results('api', results)}")


if __name__ == "__main__":
    main()
