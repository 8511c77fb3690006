"""`jetkube up` as a user runs it: a child process on a data dir, spoken to over NATS only."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

from bus.client import ApiClient
from bus.connection import Bus
from cli.localcluster import ROOT, LocalCluster


async def _snapshot(url: str) -> dict[str, str]:
    bus = await Bus.connect(url)
    try:
        api = ApiClient(bus)
        out: dict[str, str] = {}
        for resource in ("namespaces", "pods", "configmaps", "services", "deployments", "storageclasses"):
            for obj in (await api.list(resource))["items"]:
                meta = obj["metadata"]
                out[f"{resource}/{meta.get('namespace')}/{meta['name']}"] = meta["resourceVersion"]
        return out
    finally:
        await bus.close()


async def _populate(url: str) -> None:
    bus = await Bus.connect(url)
    try:
        api = ApiClient(bus)
        await api.create(
            "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
        )
        for i in range(5):
            await api.create(
                "configmaps",
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"cm{i}"},
                    "data": {"i": str(i)},
                },
                namespace="team",
            )
        await api.create(
            "services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
            },
        )
    finally:
        await bus.close()


def test_restart_on_the_same_data_dir_keeps_every_object_and_revision(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with LocalCluster(data) as first:
        asyncio.run(_populate(first.url))
        before = asyncio.run(_snapshot(first.url))
        port = first.port
    assert "configmaps/team/cm4" in before and "services/default/web" in before
    assert "storageclasses/None/local-path" in before, "up makes the default StorageClass (kept on restart)"
    with LocalCluster(data, port=port) as second:
        after = asyncio.run(_snapshot(second.url))
    assert after == before


def test_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli.main",
                "up",
                "--data-dir",
                str(tmp_path),
                "--port",
                str(port),
                "--no-kubelet",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert (
        lines[-1]
        == f"error: port {port} on 127.0.0.1 is already in use: stop what listens there or pass --port"
    )
    assert "Traceback" not in proc.stderr


def test_cli_without_a_cluster_says_so_in_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "--server", f"nats://127.0.0.1:{port}", "get", "pods"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"nats://127.0.0.1:{port}" in lines[0], proc.stderr
