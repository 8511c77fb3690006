"""The test bed's Ceph cluster (compose.yaml, profile ``ceph``) for the CephFS tests.

:func:`ceph_cluster` uses a cluster already answering at the seed's first monitor
(10.16.154.78:6789: the bed's, started with ``--profile ceph``), else starts compose.yaml's ``ceph`` service
alone with ``docker run`` (its image, environment, address and network as compose.yaml has them;
not through compose, whose ``up``/``down`` would also make or remove the bed's named networks) and
removes it afterwards. Only one such cluster can run on a
host (the seed's monitors fix the network, 10.16.154.0/24), so the start is under a file lock.
Skips when the pod mounts cannot work here: no ceph-fuse and no kernel client.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from actors.kubelet.volumes import reachable

ROOT = Path(__file__).resolve().parents[2]
MONITOR = "10.16.154.78:6789"
SEED_MONITORS = [MONITOR, "10.16.154.82:6789", "10.16.154.83:6789"]
ADMIN_KEY = "AQBEFhZrR5Y0CxAAT1HC2nMPsvqJ5ExjJEFISQ=="  # compose.yaml's CEPH_ADMIN_KEY
CONTAINER = "jetkube-ceph-e2e"
LABEL = "io.jetkube.test"
LOCK = "/tmp/jetkube-ceph.lock"


def secret(name: str = "ceph-secret") -> dict[str, object]:
    """The Secret the seed's CephFS pod names: client.admin's key under ``key``."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "kubernetes.io/rbd",
        "data": {"key": base64.b64encode(ADMIN_KEY.encode()).decode()},
    }


def _answers() -> bool:
    return asyncio.run(reachable(MONITOR, 6789, banner=b"ceph v"))


def _ready() -> bool:
    """The bootstrap script's mark: the filesystem has an active MDS."""
    return _docker("exec", CONTAINER, "test", "-e", "/run/ceph-ready").returncode == 0


def ceph_service() -> tuple[str, dict[str, str], str, str, str]:
    """compose.yaml's ``ceph`` service: image, environment, address, network name and subnet."""
    spec = yaml.safe_load((ROOT / "compose.yaml").read_text())
    svc = spec["services"]["ceph"]
    net_key, net = next(iter(svc["networks"].items()))
    network = spec["networks"][net_key]
    subnet = network["ipam"]["config"][0]["subnet"]
    env = {k: str(v) for k, v in svc["environment"].items()}
    return svc["image"], env, net["ipv4_address"], network["name"], subnet


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True)


@contextlib.contextmanager
def ceph_cluster() -> Iterator[str]:
    """Yield the monitor address of a running Ceph cluster with a CephFS."""
    if not shutil.which("ceph-fuse"):
        with open("/proc/filesystems") as fh:
            if "ceph" not in fh.read().split():
                pytest.skip("no CephFS client here: neither ceph-fuse nor the kernel's ceph")
    if _answers():
        yield MONITOR
        return
    from images.build import ensure_images

    ensure_images(["ceph"])
    image, env, address, network, subnet = ceph_service()
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = not _answers()
        made_network = False
        if started:  # the service as compose.yaml has it, without touching the bed's other networks
            if _docker("network", "inspect", network).returncode != 0:
                made = _docker("network", "create", "--subnet", subnet, "--label", f"{LABEL}=1", network)
                assert made.returncode == 0, made.stderr
                made_network = True
            _docker("rm", "-f", "-v", CONTAINER)  # one a killed run left
            envs = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
            run = _docker(
                "run", "-d", "--name", CONTAINER, "--init", "--label", f"{LABEL}=1",
                "--network", network, "--ip", address, *envs, image,
            )  # fmt: skip
            assert run.returncode == 0, run.stderr
        deadline = time.monotonic() + 120
        while started and not _ready():
            assert time.monotonic() < deadline, "the ceph container did not become ready in 120 s"
            time.sleep(1)
        try:
            yield MONITOR
        finally:
            if started:
                _docker("rm", "-f", "-v", CONTAINER)
            if made_network:
                _docker("network", "rm", network)
