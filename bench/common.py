"""Helpers shared by the benchmarks: a cluster in a child process, percentiles, the table."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


@contextmanager
def cluster_process(*extra: str, kubelet: bool = False) -> Iterator[str]:
    """``jetkube up`` in a child process on a free port and a temporary data dir; yields its URL."""
    from cli.localcluster import LocalCluster

    with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
        with LocalCluster(Path(tmp), kubelet=kubelet, extra_args=extra, log_level="warning") as cluster:
            yield cluster.url


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"benchmark": name, "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), **data}
    path.write_text(json.dumps(data, indent=2))
    return path


def print_table(rows: list[tuple[str, str, str]]) -> None:
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:>{w1}}  {c}")
