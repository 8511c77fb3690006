"""``jetkube up --apiserver-port``: the gateway in the real process, its kubeconfig merged into the
user's (other contexts kept), and the NATS users' passwords as
bearer tokens."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from bus.embedded import free_port
from cli.localcluster import LocalCluster
from tests.integration.gateway.conftest import HAVE_KUBECTL, KUBECTL

pytestmark = pytest.mark.skipif(not HAVE_KUBECTL, reason="no kubectl on this machine")

OTHER = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "theirs",
    "clusters": [{"name": "theirs", "cluster": {"server": "https://example.invalid:6443"}}],
    "users": [{"name": "theirs", "user": {"token": "keep-me"}}],
    "contexts": [{"name": "theirs", "context": {"cluster": "theirs", "user": "theirs"}}],
}


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(kubeconfig.parent), "KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"}
    return subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=60)


def test_up_serves_kubectl_and_merges_its_context_into_the_kubeconfig(tmp_path: Path) -> None:
    data = tmp_path / "up"
    data.mkdir()
    kubeconfig = data / "kubeconfig"  # LocalCluster points KUBECONFIG here
    kubeconfig.write_text(yaml.safe_dump(OTHER))
    port = free_port()
    with LocalCluster(data, apiserver_port=port, log_level="warning"):
        config = yaml.safe_load(kubeconfig.read_text())
        assert {c["name"] for c in config["contexts"]} == {
            "theirs",
            f"jetkube-{config['current-context'][8:]}",
        }
        assert config["current-context"].startswith("jetkube-")
        assert next(u for u in config["users"] if u["name"] == "theirs")["user"] == {"token": "keep-me"}
        ours = next(c for c in config["clusters"] if c["name"] == config["current-context"])
        assert ours["cluster"]["server"] == f"https://127.0.0.1:{port}"

        namespaces = kubectl(kubeconfig, "get", "namespaces", "-o", "name")
        assert namespaces.returncode == 0, namespaces.stderr
        assert "namespace/kube-system" in namespaces.stdout.split()

        viewer_token = json.loads((data / "auth.json").read_text())["users"]["viewer"]
        as_viewer = kubectl(kubeconfig, "get", "pods", "--token", viewer_token)
        assert as_viewer.returncode == 0, as_viewer.stderr
