"""A `jetkube up` in a child process on a free port and a temporary or given data dir.

Used by the benchmarks and the tests that need the cluster as a user runs it (a separate
process, spoken to only over NATS). ``LocalCluster.start()`` waits until the api answers;
``stop()`` sends SIGTERM (an ordered shutdown) and waits. The child gets SIGTERM too if the
process that started it dies (a parent-death signal, bus/embedded.py's ``die_with_parent``), so a
killed test run leaves no cluster behind.

``jetkube up`` requires credentials: the child writes its client config to ``<data-dir>/config``
(``JETKUBE_CONFIG``, so concurrent clusters never share ``~/.jetkube/config``; it holds the
``admin@...`` and ``viewer@...`` contexts, :attr:`config_path`). :attr:`url` carries the control
plane's credentials (``nats://controlplane:...@127.0.0.1:port``): the harness (tests, benchmarks,
hollow nodes) drives the cluster with full rights over the trusted subjects, as before auth
existed; :meth:`login` gives the URL of any other user.
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

from bus.embedded import die_with_parent, free_port

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
    dashboard_port: int = 0  # off: several clusters at once must not fight over 8001; free_port() to have one
    apiserver_port: int = 0  # off, for the same reason (6443); free_port() to have one
    log_level: str = "info"
    networking: bool = False  # off: the service proxy and DNS are one per host (nat table, 10.96.0.10)
    tls: tuple[Path, Path] | None = None  # (certificate, key): `up --tls-cert --tls-key`, self-signed
    process: subprocess.Popen[bytes] | None = None

    @property
    def plain_url(self) -> str:
        """The server's URL without credentials (``?ca=`` the certificate when it serves TLS)."""
        if self.tls is None:
            return f"nats://127.0.0.1:{self.port}"
        return f"tls://127.0.0.1:{self.port}?ca={self.tls[0]}"

    @property
    def url(self) -> str:
        """The server URL with the control plane's credentials (once ``jetkube up`` made them)."""
        try:
            return self.login("controlplane")
        except (OSError, ValueError, KeyError):  # not written yet, or being written right now
            return self.plain_url

    def login(self, user: str) -> str:
        """The server URL with the credentials of a NATS user (admin, viewer, node-<name>...)."""
        import json
        import urllib.parse

        password = json.loads((self.data_dir / "auth.json").read_text())["users"][user]
        return self.plain_url.replace("://", f"://{user}:{urllib.parse.quote(password, safe='')}@", 1)

    @property
    def config_path(self) -> Path:
        return self.data_dir / "config"

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
            "--networking" if self.networking else "--no-networking",
            "--dashboard-port",
            str(self.dashboard_port),
            "--apiserver-port",
            str(self.apiserver_port),
            *(() if "--metrics-port" in self.extra_args else ("--metrics-port", "0")),
            *(("--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])) if self.tls else ()),
            *self.extra_args,
        ]
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "JETKUBE_CONFIG": str(self.config_path),
            "KUBECONFIG": str(self.data_dir / "kubeconfig"),
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                cmd, cwd=ROOT, stdout=log, stderr=log, env=env, preexec_fn=die_with_parent()
            )
        try:
            deadline = time.monotonic() + timeout
            # the credentials once auth.json is written *and* readable (it may be half written)
            while (url := self.url) == self.plain_url:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            asyncio.run(wait_api(url, max(1.0, deadline - time.monotonic())))
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
        # ``with LocalCluster(...).start() as c`` must not start a second up on the same data dir
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
