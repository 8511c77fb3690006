"""The hollow-node process on its own: N hollow nodes against a control plane, idle, for a while.

    python -m bench.hollow_process [--nodes 5000] [--seconds 30] [--heartbeat 10]

Prints one JSON line: the seconds until every node was registered (and its pods listed), the
hollow process's RSS and CPU, and its heartbeat writes per second over the window: Lease renewals
(``heartbeats``) and Node status writes (``status_writes``; a fleet from before the Leases wrote
its Node on every beat, and counted those as ``heartbeats``).
"""

from __future__ import annotations

import argparse
import json
import time

from bench.topology import Topology


def measure(nodes: int, seconds: float, heartbeat: float) -> dict[str, float]:
    with Topology() as topo:
        topo.start_controlplane()
        t0 = time.perf_counter()
        topo.start_hollow(nodes, heartbeat=heartbeat)
        ready_s = time.perf_counter() - t0
        time.sleep(heartbeat)  # one full round of beats, so the window is in steady state
        first = topo.hollow_stats()
        t1 = time.perf_counter()
        time.sleep(seconds)
        last = topo.hollow_stats()
        window = time.perf_counter() - t1
        return {
            "nodes": nodes,
            "ready_s": round(ready_s, 1),
            "rss_mb": round(last["rss_mb"], 1),
            "cpu_pct": round(100 * (last["cpu_s"] - first["cpu_s"]) / window, 1),
            "heartbeats_per_s": round((last["heartbeats"] - first["heartbeats"]) / window, 1),
            "status_writes_per_s": round(
                (last.get("status_writes", 0) - first.get("status_writes", 0)) / window, 1
            ),
            "heartbeat_errors": last.get("heartbeat_errors", 0),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--heartbeat", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.nodes, args.seconds, args.heartbeat)))


if __name__ == "__main__":
    main()
