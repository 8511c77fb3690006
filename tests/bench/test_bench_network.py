"""The service proxy benchmark at a tiny size, so it cannot rot: it must complete and write its
figures. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.docker
def test_network_benchmark_writes_its_figures() -> None:
    from bench.network import check_host

    why = check_host()
    if why:
        pytest.skip(why)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.network", "--duration", "1", "--changes", "20", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((ROOT / "bench" / "results" / "network.json").read_text())
    assert doc["direct"]["rps"] > 0 and doc["cluster_ip"]["rps"] > 0
    assert doc["endpoint_change"]["changes"] == 20
    assert "through ClusterIP" in proc.stdout
