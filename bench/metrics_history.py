"""The metrics history's memory: bytes per node and per pod for one hour, at 1,000 nodes.

    python -m bench.metrics_history [--nodes 1000] [--pods-per-node 10] [--minutes 60] [--interval 10]

What it runs: the collector's recording path (``History.record_node``, actors/metrics/history.py)
fed with one kubelet summary per node per sampling interval (10 s, the kubelets' default), each
with ``--pods-per-node`` pods of one container, for ``--minutes`` of simulated time, in this
process. The figures are what ``tracemalloc`` counts as allocated by the history (its rings,
arrays, keys and index), measured after the history was built, so they include the series'
lazy growth (``array`` over-allocation) and nothing else.

Why synthetic summaries: the hollow nodes of ``jetkube up --hollow-nodes N`` sample nothing (they
run no containers), so a cluster of them gives the collector no figures; the shape of 1,000 nodes'
summaries (node + pods + containers, the same record calls the collector makes) is what costs the
memory, and that is what is fed here. Also printed: the cost after 1 minute (lazy allocation: a
young series holds little), and the CPU time one collector round spends recording.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

from actors.metrics.history import History
from actors.metrics.top import ContainerTop, PodTop
from bench.common import print_table, write_results

T0 = 1_765_000_000.0


def summaries(nodes: int, per_node: int) -> list[tuple[str, list[PodTop]]]:
    out = []
    for n in range(nodes):
        node = f"hollow-{n}"
        pods = [
            PodTop(
                "default",
                f"pod-{n}-{p}",
                node,
                0,
                0,
                [ContainerTop("main", 0, 0)],
            )
            for p in range(per_node)
        ]
        out.append((node, pods))
    return out


def feed(history: History, fleet: list[tuple[str, list[PodTop]]], rounds: int, interval: float) -> float:
    """``rounds`` rounds of every node's summary; the mean CPU seconds of one round."""
    spent = 0.0
    for r in range(rounds):
        t = T0 + r * interval
        wobble = (r * 7919) % 1000
        for i, (_node, pods) in enumerate(fleet):
            for p in pods:  # figures that change, as real ones do
                p.cpu_nanocores = (wobble + i) * 100_000
                p.memory_bytes = (wobble + i) * 4096 + 20 * 1024 * 1024
                p.containers[0].cpu_nanocores = p.cpu_nanocores
                p.containers[0].memory_bytes = p.memory_bytes
        started = time.process_time()
        for i, (node, pods) in enumerate(fleet):
            history.record_node(node, t, (wobble + i) * 1_000_000, 2 * 1024**3 + wobble, pods)
        spent += time.process_time() - started
    return spent / max(rounds, 1)


def measure(nodes: int, per_node: int, minutes: float, interval: float) -> dict[str, float]:
    fleet = summaries(nodes, per_node)
    rounds = int(minutes * 60 / interval)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    history = History(window=minutes * 60, interval=interval, max_series=10**7, epoch=T0)
    round_cpu = feed(history, fleet, rounds, interval)
    gc.collect()
    total = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    node_only = sum(history.series[("node", n)].nbytes() for n, _ in fleet)
    per_node_bytes = node_only / nodes
    pods = nodes * per_node
    per_pod_bytes = (total - node_only) / pods if pods else 0.0
    return {
        "nodes": nodes,
        "pods": pods,
        "series": len(history),
        "points_per_series": rounds,
        "total_mib": total / 2**20,
        "per_node_kib": per_node_bytes / 1024,
        "per_pod_kib": per_pod_bytes / 1024,
        "round_cpu_ms": round_cpu * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods-per-node", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args()
    hour = measure(args.nodes, args.pods_per_node, args.minutes, args.interval)
    young = measure(args.nodes, args.pods_per_node, 1.0, args.interval) if args.minutes > 1 else hour
    young_kib = f"{young['per_node_kib']:.2f} / {young['per_pod_kib']:.2f} KiB"
    rows = [
        ("nodes / pods / series", f"{hour['nodes']} / {hour['pods']} / {hour['series']}", ""),
        ("points per series", f"{hour['points_per_series']}", f"{args.minutes:g} min at {args.interval:g} s"),
        ("history, total", f"{hour['total_mib']:.1f} MiB", "tracemalloc"),
        ("per node", f"{hour['per_node_kib']:.2f} KiB", "its series"),
        ("per pod", f"{hour['per_pod_kib']:.2f} KiB", "pod + 1 container series, index included"),
        ("after 1 minute", young_kib, "per node / per pod"),
        ("recording one round", f"{hour['round_cpu_ms']:.0f} ms", "CPU, all nodes"),
    ]
    print_table(rows)
    write_results("metrics_history", {"hour": hour, "one_minute": young, "args": vars(args)})


if __name__ == "__main__":
    main()
