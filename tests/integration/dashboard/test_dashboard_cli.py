"""`jetkube dashboard` and `jetkube up --dashboard-port` as a user starts them (real processes)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bus.embedded import free_port
from cli.localcluster import ROOT, LocalCluster

URL = re.compile(r"http://127\.0\.0\.1:\d+/")


async def read_url(proc: asyncio.subprocess.Process, timeout: float = 30.0) -> str:
    assert proc.stdout is not None
    async with asyncio.timeout(timeout):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, "the dashboard exited before printing its URL"
            found = URL.search(line)
            if found:
                return found.group(0)


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_jetkube_dashboard_serves_a_cluster_and_stops_on_ctrl_c(nats_url: str, api: Any) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "dashboard", "--server", nats_url, "--port", "0",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        url = await read_url(proc)
        names = [n["name"] for n in (await get_json(url + "api/namespaces"))["items"]]
        assert "kube-system" in names
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()


def test_a_taken_port_is_one_line_and_exit_1(nats_url: str) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["dashboard", "--server", nats_url, "--port", str(port)])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], lines


def test_jetkube_up_starts_the_dashboard(tmp_path: Path) -> None:
    port = free_port()
    with LocalCluster(tmp_path / "up", dashboard_port=port, log_level="warning"):
        deadline = time.monotonic() + 20
        while f"dashboard: http://127.0.0.1:{port}/" not in (tmp_path / "up" / "up.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "up" / "up.log").read_text()
            time.sleep(0.05)
        table = asyncio.run(get_json(f"http://127.0.0.1:{port}/api/namespaces"))
        assert "default" in [n["name"] for n in table["items"]]
