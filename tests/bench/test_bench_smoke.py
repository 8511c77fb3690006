"""The benchmark at its small size (100 nodes, 1,000 pods), so it cannot rot: it must complete and
write every figure. No timing is asserted; the figures are not the targets' conditions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SMOKE = "api,e2e,startup,fanout,rollout,docker,scale"


def test_small_benchmark_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "small", "--only", SMOKE, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    results = doc["results"]
    for name in ("api", "e2e", "startup", "docker", "scale"):
        assert name in results and "error" not in results[name], (name, results.get(name))
    figures = [row["figure"] for row in doc["table"]]
    for expected in (
        "api creates/s, 1 client(s)",
        "api creates/s, 32 client(s)",
        "created and bound end to end",
        "hollow pod startup",
        "watch fan-out",
        "Deployment rolling",
        "pod startup on Docker",
        "control-plane RSS",
        "jetkube get pods -A -o name",
        "re-synced",
    ):
        assert any(expected in f for f in figures), expected
    assert all(row["value"] not in ("", "FAILED") for row in doc["table"])
    fan = results["startup"]["fanout"]["fanout"]
    assert fan["max_messages_on_a_node_without_pods"] == 0
    assert results["scale"]["cli_list_lines"] >= 1000
