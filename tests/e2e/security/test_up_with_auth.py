"""``jetkube up`` with its kubelet on the real Docker engine, everything authenticated: the kubelet
logs in as ``system:node:<name>`` and runs a pod that reads a Secret (encrypted at rest, handed to
the kubelet by the node authorizer) and a ConfigMap; admin's ``logs`` and ``exec`` reach it."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.localcluster import LocalCluster

NODE = f"e2e-sec-{uuid.uuid4().hex[:6]}"

MANIFEST = """
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cr3t-value}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello}
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "echo $GREETING $(cat /etc/creds/password); sleep 3600"]
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: settings, key: greeting}}
    volumeMounts: [{name: creds, mountPath: /etc/creds}]
  volumes:
  - name: creds
    secret: {secretName: creds}
"""


@pytest.fixture
def cluster(images: None, tmp_path: Path) -> Iterator[LocalCluster]:
    c = LocalCluster(
        tmp_path / "data",
        kubelet=True,
        extra_args=(
            "--node-name",
            NODE,
            "--dashboard-port",
            "0",
            "--ingress-port",
            "0",
            "--metrics-port",
            "0",
        ),
    )
    try:
        yield c.start()
    finally:
        c.stop()
        ids = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=io.jetkube.node={NODE}"],
            capture_output=True,
            text=True,
        ).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


def jetkube(cluster: LocalCluster, *args: str, input: str | None = None) -> tuple[int, str, str]:
    from cli.main import app

    env = {"JETKUBE_CONFIG": str(cluster.config_path), "JETKUBE_SERVER": None, "JETKUBE_CONTEXT": None}
    result = CliRunner().invoke(app, list(args), env=env, input=input)
    return result.exit_code, result.stdout, result.stderr


def test_the_kubelet_runs_a_pod_with_a_secret_under_its_node_identity(cluster: LocalCluster) -> None:
    code, _, err = jetkube(cluster, "apply", "-f", "-", input=MANIFEST)
    assert code == 0, err
    deadline = time.monotonic() + 90
    out = ""
    while time.monotonic() < deadline:
        code, out, _ = jetkube(cluster, "logs", "reader")
        if "hello s3cr3t-value" in out:
            break
        time.sleep(0.5)
    assert "hello s3cr3t-value" in out, jetkube(cluster, "describe", "pod", "reader")[1]
    code, out, err = jetkube(cluster, "exec", "reader", "--", "cat", "/etc/creds/password")
    assert (code, out.strip()) == (0, "s3cr3t-value"), err
    code, out, _ = jetkube(cluster, "get", "node", NODE)
    assert code == 0 and " Ready" in out
    code, out, _ = jetkube(cluster, "get", "pod", "reader")
    assert code == 0 and "Running" in out
    # nothing the kubelet needed was refused to its node identity
    log = (cluster.data_dir / "up.log").read_text().splitlines()
    assert not [line for line in log if "api.forbidden" in line and f"system:node:{NODE}" in line]
