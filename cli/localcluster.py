"""A `jetkube up` in a child process on a free port and a temporary or given data dir.

Used by the benchmarks and the tests that need the cluster as a user runs it (a separate
process, spoken to only over NATS). ``LocalCluster.start()`` waits until the api answers;
``stop()`` sends SIGTERM (an ordered shutdown) and waits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bus.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent


async def wait_api(url: str, timeout: float = 30.0) -> None:
    from bus.client import ApiClient
    from bus.connection import Bus
    from schemas.errors import JetkubeError

    deadline = time.monotonic() + timeout
    while True:
        try:
            bus = await Bus.connect(url, connect_timeout=1)
            try:
                await ApiClient(bus, timeout=2).get("namespaces", "default")
                return
            finally:
                await bus.close()
        except JetkubeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


@dataclass
class LocalCluster:
    data_dir: Path
    port: int = field(default_factory=free_port)
    kubelet: bool = False
    extra_args: tuple[str, ...] = ()
    log_level: str = "info"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "up.log"

    def start(self, timeout: float = 60.0) -> LocalCluster:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "cli.main",
            "up",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--log-level",
            self.log_level,
            "--kubelet" if self.kubelet else "--no-kubelet",
            *self.extra_args,
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log, env=env)
        try:
            asyncio.run(wait_api(self.url, timeout))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 30.0) -> int | None:
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.process = None
        return proc.returncode

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
