"""What durable writes cost: the api's creates/s with JetStream's fsync before acknowledgement
(``--sync-interval always``, the default) beside NATS's lazy policy (``--sync-interval 2m``), in
one run, each on its own ``jetkube up``; plus raw KV creates (awaited one by one) on each.

Three policies: ``lazy`` (2m, writes one by one: the state before durable writes), ``durable``
(always, one fsync per write: ``JETKUBE_GROUP_COMMIT=0``, the default) and ``grouped`` (always,
concurrent writes sent as atomic batches that share an fsync: bus/groupcommit.py,
``JETKUBE_GROUP_COMMIT=1``).

    python -m bench.durability [--count 3000] [--clients 1,32] [--rounds 3] [--no-raw] [--fsyncs]

Rounds interleave the policies, each round in a rotated order, so a noisy neighbour on a shared
machine hits all of them. Each api run also records where the CPU went, per create: the
``jetkube up`` process (the api), the nats-server and the benchmark's own clients. ``--fsyncs``
adds one pass per policy with ``strace -c`` attached to the nats-server (which slows it, so its
rates are not reported) counting the fsyncs per create and the time they took.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import re
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api import api_creates, raw_limits
from bench.common import print_table, write_results

POLICIES = (("lazy", "2m", "0"), ("durable", "always", "0"), ("grouped", "always", "1"))
TITLES = {
    "lazy": "lazy (2m)",
    "durable": "durable (always), one fsync each",
    "grouped": "durable, grouped (JETKUBE_GROUP_COMMIT=1)",
}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: fields 14 and 15 of stat


@dataclass
class Cluster:
    url: str
    up_pid: int  # jetkube up: the api and the rest of the control plane, one process
    nats_pid: int


@contextlib.contextmanager
def cluster(interval: str, grouped: str) -> Iterator[Cluster]:
    from bus.embedded import PID_FILE
    from cli.localcluster import LocalCluster

    os.environ["JETKUBE_GROUP_COMMIT"] = grouped  # read by the child's Store.open
    with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
        extra = ("--sync-interval", interval)
        with LocalCluster(Path(tmp), extra_args=extra, log_level="warning") as c:
            assert c.process is not None
            nats_pid = int((Path(tmp) / PID_FILE).read_text())
            yield Cluster(c.url, c.process.pid, nats_pid)


async def with_cpu(c: Cluster, run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """``run()``'s result with the CPU each process spent on it, in ms per create."""
    before = (cpu_seconds(c.up_pid), cpu_seconds(c.nats_pid), time.process_time())
    result = await run()
    after = (cpu_seconds(c.up_pid), cpu_seconds(c.nats_pid), time.process_time())
    n = result["creates"]
    for name, b, a in zip(("api", "nats", "client"), before, after, strict=True):
        result[f"{name}_cpu_ms"] = (a - b) * 1000 / n
    return result


async def measure(c: Cluster, count: int, clients: list[int], raw: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    await api_creates(c.url, min(200, count), 8)  # warm up: caches, connections, the first block
    for n in clients:
        out[f"api_{n}"] = await with_cpu(c, functools.partial(api_creates, c.url, count, n))
        if raw:
            out[f"raw_{n}"] = await raw_limits(c.url, count, n)
    return out


def count_fsyncs(c: Cluster, count: int, n: int) -> dict[str, Any]:
    """fsync and fdatasync calls of the nats-server, and their wall time, per api create."""
    with tempfile.NamedTemporaryFile(prefix="strace-", suffix=".txt") as out:
        trace = ["strace", "-f", "-c", "-w", "-e", "trace=fsync,fdatasync", "-o", out.name]
        proc = subprocess.Popen(
            [*trace, "-p", str(c.nats_pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(1.0)  # attached to every thread
        result = asyncio.run(api_creates(c.url, count, n))
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        text = Path(out.name).read_text()
    calls, seconds = 0, 0.0
    for line in text.splitlines():  # "% time  seconds  usecs/call  calls  errors syscall"
        m = re.match(r"\s*[\d.]+\s+([\d.]+)\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)$", line)
        if m:
            seconds += float(m.group(1))
            calls += int(m.group(2))
    creates = result["creates"]
    return {
        "creates": creates,
        "fsyncs": calls,
        "fsyncs_per_create": calls / creates,
        "fsync_ms_each": seconds * 1000 / calls if calls else 0.0,
        "fsync_ms_per_create": seconds * 1000 / creates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--clients", default="1,32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--policies", default=",".join(p[0] for p in POLICIES))
    parser.add_argument("--no-raw", dest="raw", action="store_false", help="skip the raw KV rates")
    parser.add_argument("--fsyncs", action="store_true", help="a strace pass counting fsyncs per create")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    chosen = [p for p in POLICIES if p[0] in args.policies.split(",")]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in chosen}
    for r in range(args.rounds):
        for name, interval, grouped in chosen[r % len(chosen) :] + chosen[: r % len(chosen)]:
            with cluster(interval, grouped) as c:
                runs[name].append(asyncio.run(measure(c, args.count, clients, args.raw)))
    fsyncs: dict[str, dict[str, Any]] = {}
    if args.fsyncs:
        for name, interval, grouped in chosen:
            with cluster(interval, grouped) as c:
                asyncio.run(api_creates(c.url, 200, 8))
                for n in clients:
                    fsyncs[f"{name}_{n}"] = count_fsyncs(c, args.count, n)
    base = chosen[0][0]
    rows = [("figure", "value", f"/ {base}")]
    best: dict[str, dict[str, float]] = {name: {} for name in runs}
    for name in runs:
        for key in runs[name][0]:
            metric = "per_s" if key.startswith("api") else "kv_create_per_s"
            best[name][key] = max(r[key][metric] for r in runs[name])
    for n in clients:
        for key, label in ((f"api_{n}", "api creates/s"), (f"raw_{n}", "raw KV creates/s")):
            if key not in best[base]:
                continue
            metric = "per_s" if key.startswith("api") else "kv_create_per_s"
            for name in runs:
                value, ratio = best[name][key], best[name][key] / best[base][key]
                rounds = ", ".join(f"{r[key][metric]:,.0f}" for r in runs[name])
                title = f"{label}, {n} client(s), {TITLES[name]}"
                rows.append((title, f"{value:,.0f}", f"{ratio:.0%} (rounds: {rounds})"))
                if key.startswith("api"):
                    cpu = {
                        p: statistics.median(r[key][f"{p}_cpu_ms"] for r in runs[name])
                        for p in ("api", "nats", "client")
                    }
                    p99 = statistics.median(r[key]["p99_ms"] for r in runs[name])
                    rows.append(
                        (
                            "  CPU ms per create: api / nats-server / bench clients; p99 ms",
                            f"{cpu['api']:.2f} / {cpu['nats']:.2f} / {cpu['client']:.2f}",
                            f"p99 {p99:.1f}",
                        )
                    )
                if f"{name}_{n}" in fsyncs and key.startswith("api"):
                    f = fsyncs[f"{name}_{n}"]
                    rows.append(
                        (
                            "  fsyncs per create (strace pass); ms each; ms per create",
                            f"{f['fsyncs_per_create']:.2f}",
                            f"{f['fsync_ms_each']:.2f} ms each, {f['fsync_ms_per_create']:.2f} ms per create",
                        )
                    )
    print_table(rows)
    print(f"json: {write_results('durability', {'runs': runs, 'best': best, 'fsyncs': fsyncs})}")


if __name__ == "__main__":
    main()
