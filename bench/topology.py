"""The processes a benchmark runs against: nats-server, a control plane and a hollow-node fleet.

Each is its own OS process, as on a real machine: ``EmbeddedNats`` (the nats-server binary), the
control plane as ``jetkube controlplane`` (so its RSS and its restart are measurable on their own)
and the hollow nodes as ``python -m bench.hollowproc`` (which answers ``stats`` on stdin with a
JSON line). ``Topology`` is a context manager; everything stops on exit.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bus.embedded import DEFAULT_SYNC_INTERVAL, EmbeddedNats, check_sync_interval, free_port
from cli.localcluster import wait_api
from schemas.errors import BadRequest

ROOT = Path(__file__).resolve().parent.parent
IDENTITY = "bench-controlplane"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def sync_interval() -> str:
    """nats-server's fsync policy for a benchmark: ``JETKUBE_BENCH_SYNC_INTERVAL`` (``2m`` is the lazy
    policy of the figures before 12-07), else jetkube's default (``always``)."""
    value = os.environ.get("JETKUBE_BENCH_SYNC_INTERVAL", "").strip()
    if not value:
        return DEFAULT_SYNC_INTERVAL
    try:
        return check_sync_interval(value)
    except BadRequest as err:
        raise BadRequest(f"JETKUBE_BENCH_SYNC_INTERVAL: {err.message.split(': ', 1)[-1]}") from err


class Topology:
    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="jetkube-bench-")
        self.dir = Path(self._tmp.name)
        self.nats = EmbeddedNats(data_dir=self.dir / "nats", port=free_port(), sync_interval=sync_interval())
        self.controlplane: subprocess.Popen[bytes] | None = None
        self.hollow: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return self.nats.url

    def __enter__(self) -> Topology:
        self.nats.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_hollow()
        self.stop_controlplane()
        self.nats.stop()
        self._tmp.cleanup()

    # ---------------------------------------------------------------- control plane

    def start_controlplane(self, timeout: float = 120.0) -> float:
        """Start ``jetkube controlplane``; return seconds until the api answered."""
        cmd = [sys.executable, "-m", "cli.main", "controlplane", "--server", self.url]
        cmd += ["--identity", IDENTITY, "--log-level", "warning"]
        t0 = time.perf_counter()
        with open(self.dir / "controlplane.log", "ab") as log:
            self.controlplane = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log, env=_env())
        asyncio.run(wait_api(self.url, timeout))
        return time.perf_counter() - t0

    def stop_controlplane(self) -> None:
        proc, self.controlplane = self.controlplane, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    # ---------------------------------------------------------------- hollow nodes

    def start_hollow(self, count: int, *, startup_delay: float = 0.0, heartbeat: float = 10.0) -> None:
        cmd = [sys.executable, "-m", "bench.hollowproc", "--server", self.url, "--count", str(count)]
        cmd += ["--startup-delay", str(startup_delay), "--heartbeat-interval", str(heartbeat)]
        self.hollow = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.dir / "hollow.log", "ab"),
            env=_env(),
            text=True,
        )
        line = self._hollow_line(timeout=max(180.0, count / 10))
        if not line.startswith("READY"):
            raise RuntimeError(f"hollow nodes failed to start: {line!r}; see {self.dir / 'hollow.log'}")

    def _hollow_line(self, timeout: float) -> str:
        assert self.hollow is not None and self.hollow.stdout is not None
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.hollow.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RuntimeError("hollow nodes did not answer in time")
        return self.hollow.stdout.readline()

    def hollow_stats(self) -> dict[str, Any]:
        assert self.hollow is not None and self.hollow.stdin is not None
        self.hollow.stdin.write("stats\n")
        self.hollow.stdin.flush()
        return json.loads(self._hollow_line(timeout=60))

    def stop_hollow(self) -> None:
        proc, self.hollow = self.hollow, None
        if proc is None:
            return
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
