"""Health over NATS: every process answers, cluster-info and componentstatuses show who leads.

A real ``jetkube up`` (control plane) and a real ``jetkube kubelet`` on the local Docker engine,
each a child process logged in as its own NATS user. Both answer the fan-out health request; the
control plane holds every lease; a kubelet killed with SIGKILL stays listed, Unhealthy, with the
age of its last heartbeat.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from bus.auth import node_user
from cli.localcluster import ROOT, LocalCluster
from tests.integration.operations.helpers import jetkube, until

pytestmark = pytest.mark.docker


def _docker() -> bool:
    return shutil.which("docker") is not None or os.path.exists("/var/run/docker.sock")


def test_every_process_answers_health_and_a_dead_one_shows_unhealthy(tmp_path: Path) -> None:
    if not _docker():
        pytest.skip("no Docker engine")
    node = f"health-{uuid.uuid4().hex[:6]}"
    # the up's --node-name makes that node's NATS credentials; its own kubelet is off (--no-kubelet)
    with LocalCluster(tmp_path / "cluster", extra_args=("--node-name", node)) as cluster:
        url = cluster.url
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = cluster.login(node_user(node))
        cmd = [sys.executable, "-m", "cli.main", "kubelet", "--node-name", node, "--server", server]
        cmd += ["--root-dir", str(tmp_path / "kubelet"), "--heartbeat-interval", "2"]
        log = open(tmp_path / "kubelet.log", "wb")
        kubelet = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            key = f"kubelet-{node}"

            def both_healthy() -> str | None:
                out = jetkube(url, "get", "componentstatuses").output
                return out if key in out and out.count("Healthy") >= 2 and "Unhealthy" not in out else None

            table = until(both_healthy, timeout=30, what="the kubelet and the control plane answering health")
            header = table.splitlines()[0].split()
            assert header[:4] == ["NAME", "STATUS", "MESSAGE", "ERROR"]
            assert "LEADER" in header and "HEARTBEAT" in header

            data = yaml.safe_load(jetkube(url, "get", "cs", "-o", "yaml").output)
            assert data["kind"] == "ComponentStatusList"
            by_role = {i["metadata"]["annotations"]["jetkube.io/role"]: i for i in data["items"]}
            cp = by_role["controlplane"]
            assert "kube-scheduler" in cp["metadata"]["annotations"]["jetkube.io/leader-of"]
            assert "deployment-controller" in cp["metadata"]["annotations"]["jetkube.io/leader-of"]
            assert by_role["kubelet"]["metadata"]["name"] == key
            assert by_role["kubelet"]["conditions"][0]["status"] == "True"

            info = jetkube(url, "cluster-info").output
            assert info.startswith("Kubernetes control plane is running at ")
            assert f"kube-scheduler is led by {cp['metadata']['name']}" in info
            assert key in info

            kubelet.send_signal(signal.SIGKILL)
            kubelet.wait(timeout=10)

            def unhealthy() -> str | None:
                out = jetkube(url, "get", "cs", key, ok=False).output
                return out if "Unhealthy" in out else None

            dead = until(unhealthy, timeout=15, what="the killed kubelet listed Unhealthy")
            assert "no answer" in dead
            row = next(line for line in dead.splitlines() if line.startswith(key))
            assert row.split()[-1].endswith("s")  # the age of its last heartbeat
        finally:
            if kubelet.poll() is None:
                kubelet.send_signal(signal.SIGTERM)
                kubelet.wait(timeout=20)
            log.close()
