"""compose.node-engines.yaml's nodes are hosts: each kubelet runs on its own host's engine, never
the machine's, with the Flannel pod network between them.

Read from the file as docker-compose reads it (PyYAML, with its anchors merged), no Docker needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cli.testbed import NODE_HOSTS, NODES

REPO = Path(__file__).resolve().parents[3]


def services() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "compose.node-engines.yaml").read_text())["services"])


def node_socket() -> str:
    """The engine socket the node image's dockerd serves ($DOCKER_HOST of images/testbed/node.Dockerfile)."""
    for line in (REPO / "images" / "testbed" / "node.Dockerfile").read_text().splitlines():
        for word in line.split():
            if word.startswith("DOCKER_HOST="):
                return word.removeprefix("DOCKER_HOST=")
    raise AssertionError("node.Dockerfile sets no DOCKER_HOST")


def test_no_service_mounts_the_machines_docker_socket() -> None:
    for name, svc in services().items():
        for volume in svc.get("volumes") or []:
            assert "docker.sock" not in str(volume), f"{name} mounts the machine's engine: {volume}"


def test_each_kubelet_shares_its_hosts_network_and_talks_to_its_engine_only() -> None:
    svcs = services()
    socket = node_socket()
    for service, node in NODES.items():
        host = NODE_HOSTS[service]
        kubelet, host_svc = svcs[service], svcs[host]
        assert kubelet["network_mode"] == f"service:{host}"
        assert kubelet["image"].startswith("jetkube/node:")  # jetkube with ip and bridge (pod network)
        assert f"--node-name={node}" in kubelet["command"]
        assert f"--docker-host={socket}" in kubelet["command"]
        assert "--pod-network=flannel" in kubelet["command"]
        assert host_svc["hostname"] == node
        # the socket's folder is one volume of both containers; so is the kubelet's state dir
        shared = {v.split(":")[0] for v in kubelet["volumes"]} & {
            v.split(":")[0] for v in host_svc["volumes"]
        }
        assert len(shared) == 2, (kubelet["volumes"], host_svc["volumes"])


def test_node_hosts_run_dockerd_unprivileged_with_the_capabilities_it_needs() -> None:
    for host in NODE_HOSTS.values():
        svc = services()[host]
        assert not svc.get("privileged")
        assert {"SYS_ADMIN", "NET_ADMIN", "NET_RAW", "MKNOD"} <= set(svc["cap_add"])
        assert {"seccomp=unconfined", "apparmor=unconfined"} <= set(svc["security_opt"])
        assert any(v.endswith(":/var/lib/docker") for v in svc["volumes"]), (
            "the engine's data root is no volume"
        )
        assert svc["image"].startswith("jetkube/node:")
