"""`jetkube dns` (and `jetkube proxy`, started the same way) is a process like the others: it
answers the health request, so `get componentstatuses` lists it, and it serves /metrics."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from actors.health.query import gather
from bus.client import ApiClient
from bus.connection import Bus
from bus.embedded import free_port
from cli.localcluster import ROOT
from tests.waiting import wait_for


def _start(cmd: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)


def _scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


async def test_the_dns_process_answers_health_and_serves_metrics(
    bus: Bus, api: ApiClient, nats_url: str, tmp_path: Path
) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "cli.main", "dns", "--server", nats_url, "--port", "0"]
    cmd += ["--advertise-address", "127.0.0.1", "--metrics-port", str(port), "--log-level", "warning"]
    proc = _start(cmd, tmp_path / "dns.log")
    pid = f"dns-{socket.gethostname()}"
    try:

        async def answered() -> dict | None:
            return (await gather(bus, timeout=0.5, expect={pid})).get(pid)

        report = await wait_for(answered, timeout=30, what=f"{pid} answering health")
        assert report["role"] == "dns" and report["healthy"], report

        async def scraped() -> str:
            return await asyncio.to_thread(_scrape, port)

        text = await wait_for(scraped, timeout=30, what="the dns process's /metrics")
        assert "jetkube_nats_reconnects_total" in text, text[:500]
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)
    assert proc.returncode == 0, (tmp_path / "dns.log").read_text()[-2000:]
