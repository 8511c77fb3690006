"""Child process of the benchmarks: a hollow-node fleet that reports its statistics on request.

    python -m bench.hollowproc --server URL --count N [--startup-delay D] [--heartbeat-interval S]

Prints ``READY`` once every node is registered; then each ``stats`` line on stdin is answered with
one JSON line (counters, RSS, CPU seconds and the fan-out summary); EOF on stdin stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any


def fanout_summary(rows: list[tuple[str, int, int]]) -> dict[str, Any]:
    """Messages each node received against the pods it ran."""
    with_pods = [(m, p) for _, m, p in rows if p > 0]
    ratios = [m / p for m, p in with_pods]
    return {
        "nodes": len(rows),
        "nodes_with_pods": len(with_pods),
        "messages": sum(m for _, m, _ in rows),
        "pods": sum(p for _, _, p in rows),
        "messages_per_pod_min": min(ratios) if ratios else 0.0,
        "messages_per_pod_median": statistics.median(ratios) if ratios else 0.0,
        "messages_per_pod_max": max(ratios) if ratios else 0.0,
        "max_messages_on_a_node_without_pods": max((m for _, m, p in rows if p == 0), default=0),
        "max_pods_on_a_node": max((p for _, _, p in rows), default=0),
        "max_messages_on_a_node": max((m for _, m, _ in rows), default=0),
    }


async def main(args: argparse.Namespace) -> None:
    from actors.hollow.fleet import HollowFleet, HollowSettings
    from actors.runtime.supervisor import Supervisor
    from bus.connection import Bus

    bus = await Bus.connect(args.server, name="bench-hollow", pending_size=64 * 1024 * 1024)
    sup = Supervisor("bench-hollow")
    fleet = HollowFleet(
        bus,
        HollowSettings(
            count=args.count,
            startup_delay=args.startup_delay,
            heartbeat_interval=args.heartbeat_interval,
            workers=args.workers,
        ),
    )
    fleet.start(sup)
    t0 = time.perf_counter()
    await fleet.ready(timeout=max(180.0, args.count / 10))
    print(f"READY {time.perf_counter() - t0:.2f}", flush=True)
    loop = asyncio.get_running_loop()
    cpu0 = time.process_time()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        if line.strip() == "stats":
            out = {
                **fleet.stats(),
                "fanout": fanout_summary(fleet.fanout()),
                "cpu_s": time.process_time() - cpu0,
                "rss_mb": _rss(),
            }
            print(json.dumps(out), flush=True)
    await sup.stop()
    await bus.close()


def _rss() -> float:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--startup-delay", type=float, default=0.0)
    parser.add_argument("--heartbeat-interval", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=32)
    from cli.logsetup import configure_logging

    configure_logging("warning")  # to stderr: stdout carries only READY and the stats lines
    asyncio.run(main(parser.parse_args()))
