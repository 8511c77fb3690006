"""What a fenced write costs: checked then written (default) against atomic with its check.

    python bench/fencing.py [--writes 400] [--writers 1,16] [--pods 4096] [--url nats://...]

A controller's write through the api carries its lease's fencing token; the api reads the lease,
checks its holder and epoch, and writes (actors/runtime/fencecheck.py ``fenced_write``). With
``JETKUBE_ATOMIC_FENCE=1`` the write and a check of the lease's revision are one atomic batch
(bus/conditional.py). This measures ``fenced_write`` creating ConfigMaps on a real nats-server (a
temporary one unless ``--url``), the way the api calls it, without the request/reply around it:
``--writes`` writes by each of ``--writers`` concurrent writers, in three modes: ``unfenced`` (the
store's create alone), ``checked`` (the default) and ``atomic``. It prints the median and 99th
percentile latency of one write and the writes per second. Then the scheduler's binds:
``--pods`` compare-and-set updates as ``update_batch`` calls of 16 and of 256 pods, 8 in flight,
each batch fenced once (one check, or one atomic batch with its check), in binds per second.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.runtime.fencecheck import fenced_write
from bus.connection import Bus
from bus.embedded import EmbeddedNats, free_port
from bus.groupcommit import enable_atomic_batches
from bus.store import Store

TOKEN = {"lease": "kube-system/bench", "holder": "bench", "epoch": 0}


async def measure(store: Store, mode: str, writes: int, writers: int) -> dict[str, Any]:
    latencies: list[float] = []
    store.atomic_fences = mode == "atomic"

    async def writer(w: int) -> None:
        for i in range(writes):
            obj = {"kind": "ConfigMap", "metadata": {"name": f"{mode}-{writers}-{w}-{i}", "namespace": "b"}}
            t0 = time.perf_counter()
            if mode == "unfenced":
                await store.create("configmaps", obj)
            else:
                await fenced_write(store, TOKEN, lambda o=obj: store.create("configmaps", o))
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "mode": mode,
        "writers": writers,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "per_s": len(latencies) / elapsed,
    }


async def measure_binds(store: Store, mode: str, pods: int, batch: int, inflight: int) -> dict[str, Any]:
    """The scheduler's way: ``pods`` binds as ``update_batch`` calls of ``batch`` pods, at most
    ``inflight`` at once, each fenced as the scheduler fences it (one lease check per batch)."""
    store.atomic_fences = mode == "atomic"
    made = []
    for i in range(pods):
        obj = {"kind": "Pod", "metadata": {"name": f"{mode}-{batch}-{i}", "namespace": "b"}, "spec": {}}
        made.append(await store.create("pods", obj))
    pairs = [({**p, "spec": {"nodeName": "n1"}}, p) for p in made]
    slots = asyncio.Semaphore(inflight)
    bound = 0

    async def bind(chunk: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        nonlocal bound
        async with slots:
            if mode == "unfenced":
                results = await store.update_batch("pods", chunk)
            else:
                results = await fenced_write(store, TOKEN, lambda: store.update_batch("pods", chunk))
            bound += sum(1 for r in results if isinstance(r, dict))

    t0 = time.perf_counter()
    await asyncio.gather(*(bind(pairs[i : i + batch]) for i in range(0, len(pairs), batch)))
    elapsed = time.perf_counter() - t0
    assert bound == pods, f"{bound} of {pods} bound"
    return {"mode": mode, "batch": batch, "binds_per_s": pods / elapsed}


async def run(url: str, writes: int, writer_counts: list[int], pods: int) -> list[dict[str, Any]]:
    bus = await Bus.connect(url, name="bench-fencing")
    try:
        store = await Store.open(bus)
        if not await enable_atomic_batches(bus.js, store.stream):
            raise SystemExit("this nats-server does not allow atomic batches (2.12+ needed)")
        await store.create(
            "leases",
            {
                "kind": "Lease",
                "metadata": {"name": "bench", "namespace": "kube-system"},
                "spec": {"holderIdentity": "bench", "leaseTransitions": 0},
            },
        )
        out = []
        for writers in writer_counts:
            for mode in ("unfenced", "checked", "atomic"):
                res = await measure(store, mode, writes, writers)
                print(
                    f"{mode:>9} writers={writers:<3} p50 {res['p50_ms']:6.2f} ms  "
                    f"p99 {res['p99_ms']:6.2f} ms  {res['per_s']:8,.0f} writes/s",
                    flush=True,
                )
                out.append(res)
        for batch in (16, 256):
            for mode in ("unfenced", "checked", "atomic"):
                res = await measure_binds(store, mode, pods, batch, 8)
                rate = res["binds_per_s"]
                print(f"{mode:>9} binds in batches of {batch:<3} {rate:8,.0f} binds/s", flush=True)
                out.append(res)
        return out
    finally:
        await bus.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=400, help="writes per writer")
    parser.add_argument("--writers", default="1,16", help="comma-separated concurrent writer counts")
    parser.add_argument("--pods", type=int, default=4096, help="binds per mode and batch size")
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    counts = [int(c) for c in args.writers.split(",") if c.strip()]
    if args.url:
        asyncio.run(run(args.url, args.writes, counts, args.pods))
        return
    with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
        server = EmbeddedNats(data_dir=Path(tmp) / "nats", port=free_port())
        server.start()
        try:
            asyncio.run(run(server.url, args.writes, counts, args.pods))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
