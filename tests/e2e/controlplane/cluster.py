"""A multi-node jetkube on the one Docker engine, run as a user runs it: separate processes.

An :class:`EmbeddedNats` (bus/embedded.py), ``jetkube controlplane`` replicas and ``jetkube kubelet``
processes with distinct node names (``e2e-cp-<run>-<x>``), with short settings so that node loss,
eviction and leader failover happen in seconds. Every container a kubelet made carries
``io.jetkube.node=<node>``; :meth:`Cluster.remove_containers` removes them all at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bus.embedded import EmbeddedNats, free_port
from cli.localcluster import ROOT

RUN_ID = uuid.uuid4().hex[:6]

CONTROLPLANE_FLAGS = (
    "--apiserver-port",  # several replicas on one host: no Kubernetes API (6443) for them
    "0",
    "--node-monitor-grace-period",
    "4",
    "--pod-eviction-timeout",
    "2",
    "--lease-duration",
    "4",
    "--log-level",
    "warning",
)
KUBELET_FLAGS = ("--heartbeat-interval", "1", "--sync-frequency", "2", "--log-level", "warning")


def node_name(suffix: str) -> str:
    return f"e2e-cp-{RUN_ID}-{suffix}"


@dataclass
class Cluster:
    workdir: Path
    nats: EmbeddedNats | None = None
    controlplanes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kubelets: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    nodes_ever: set[str] = field(default_factory=set)
    cronjob_created: float = 0.0
    monitor_port: int = 0  # time.monotonic() when the fixture created the CronJob

    @property
    def url(self) -> str:
        assert self.nats is not None
        return self.nats.url

    def _spawn(self, log_name: str, *args: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        log = open(self.workdir / f"{log_name}.log", "ab")
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args], cwd=ROOT, stdout=log, stderr=log, env=env
        )

    def start_nats(self) -> None:
        self.monitor_port = free_port()
        self.nats = EmbeddedNats(
            data_dir=self.workdir / "nats", port=free_port(), extra_config=f"http_port: {self.monitor_port}\n"
        )
        self.nats.start()

    def api_responders(self) -> int:
        """How many connections serve the api (subscribed to ``jetkube.api.*``), per NATS' monitor."""
        import json
        import urllib.request

        url = f"http://127.0.0.1:{self.monitor_port}/connz?subs=1&limit=1000"
        with urllib.request.urlopen(url, timeout=5) as resp:
            conns = json.load(resp).get("connections") or []
        return sum(
            1 for c in conns if any(s.startswith("jetkube.api.") for s in c.get("subscriptions_list") or [])
        )

    def start_controlplane(self, identity: str) -> None:
        self.controlplanes[identity] = self._spawn(
            f"cp-{identity}",
            "controlplane",
            "--server",
            self.url,
            "--identity",
            identity,
            *CONTROLPLANE_FLAGS,
        )

    def kill_controlplane(self, identity: str) -> None:
        proc = self.controlplanes.pop(identity)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def start_kubelet(self, node: str) -> None:
        self.nodes_ever.add(node)
        root = self.workdir / "kubelet" / node
        root.mkdir(parents=True, exist_ok=True)
        self.kubelets[node] = self._spawn(
            f"kubelet-{node}",
            "kubelet",
            "--node-name",
            node,
            "--server",
            self.url,
            "--root-dir",
            str(root),
            *KUBELET_FLAGS,
        )

    def stop_kubelet(self, node: str, *, kill: bool = False) -> None:
        """SIGTERM (an orderly stop; containers keep running) or SIGKILL (the node is lost)."""
        proc = self.kubelets.pop(node)
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def stop(self) -> None:
        for node in list(self.kubelets):
            self.stop_kubelet(node)
        for identity, proc in list(self.controlplanes.items()):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            self.controlplanes.pop(identity)
        if self.nats is not None:
            self.nats.stop()
            self.nats = None

    def remove_containers(self) -> list[str]:
        """Remove every container and volume of this run's nodes; the ids still left (none, we hope)."""
        left: list[str] = []
        for node in self.nodes_ever:
            label = f"label=io.jetkube.node={node}"
            ids = _docker("ps", "-aq", "--filter", label).split()
            if ids:
                _docker("rm", "-f", "-v", *ids)
            vols = _docker("volume", "ls", "-q", "--filter", label).split()
            if vols:
                _docker("volume", "rm", "-f", *vols)
            left += _docker("ps", "-aq", "--filter", label).split()
        return left


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)
    return done.stdout
