"""What durable writes cost: the api's creates/s with JetStream's fsync before acknowledgement
(``--sync-interval always``, the default) beside NATS's lazy policy (``--sync-interval 2m``), in
one run, each on its own ``jetkube up``; plus raw KV creates (awaited one by one) on each.

Three policies: ``lazy`` (2m, writes one by one: the state before durable writes), ``durable``
(always, one fsync per write: ``JETKUBE_GROUP_COMMIT=0``) and ``grouped`` (always, concurrent
writes sent as atomic batches that share an fsync: bus/groupcommit.py, ``JETKUBE_GROUP_COMMIT=1``).

    python -m bench.durability [--count 3000] [--clients 1,32] [--rounds 2]

Rounds alternate lazy and durable, so a noisy neighbour on a shared machine hits both.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from bench.api import api_creates, raw_limits
from bench.common import cluster_process, print_table, write_results

POLICIES = (("lazy", "2m", "0"), ("durable", "always", "0"), ("grouped", "always", "1"))
TITLES = (("durable", "durable (always), one fsync each"), ("grouped", "durable, grouped"))


async def measure(url: str, count: int, clients: list[int]) -> dict:
    out: dict = {}
    for n in clients:
        out[f"api_{n}"] = await api_creates(url, count, n)
        out[f"raw_{n}"] = await raw_limits(url, count, n)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--clients", default="1,32")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in POLICIES}
    for _ in range(args.rounds):
        for name, interval, grouped in POLICIES:
            os.environ["JETKUBE_GROUP_COMMIT"] = grouped  # read by the child's Store.open
            with cluster_process("--sync-interval", interval) as url:
                runs[name].append(asyncio.run(measure(url, args.count, clients)))
    rows = [("figure", "value", "durable / lazy")]
    best = {name: {} for name in runs}
    for name in runs:
        for key in runs[name][0]:
            metric = "per_s" if key.startswith("api") else "kv_create_per_s"
            best[name][key] = max(r[key][metric] for r in runs[name])
    for n in clients:
        for key, label in ((f"api_{n}", "api creates/s"), (f"raw_{n}", "raw KV creates/s")):
            lazy = best["lazy"][key]
            rows.append((f"{label}, {n} client(s), lazy (2m)", f"{lazy:,.0f}", ""))
            for name, title in TITLES:
                value = best[name][key]
                rows.append((f"{label}, {n} client(s), {title}", f"{value:,.0f}", f"{value / lazy:.0%}"))
    print_table(rows)
    print(f"json: {write_results('durability', {'runs': runs, 'best': best})}")


if __name__ == "__main__":
    main()
