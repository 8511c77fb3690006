"""The test bed's Ceph cluster (compose.yaml, profile ``ceph``) for the CephFS tests.

:func:`ceph_cluster` uses a cluster already answering at the seed's first monitor
(10.16.154.78:6789: the bed's, started with ``--profile ceph``), else starts the ``ceph`` service
alone under its own compose project and removes it afterwards. Only one such cluster can run on a
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

from actors.kubelet.volumes import reachable

ROOT = Path(__file__).resolve().parents[2]
MONITOR = "10.16.154.78:6789"
SEED_MONITORS = [MONITOR, "10.16.154.82:6789", "10.16.154.83:6789"]
ADMIN_KEY = "AQBEFhZrR5Y0CxAAT1HC2nMPsvqJ5ExjJEFISQ=="  # compose.yaml's CEPH_ADMIN_KEY
PROJECT = "jetkube-ceph-e2e"
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


def _healthy(container: str) -> bool:
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Health.Status}}", container], capture_output=True, text=True
    )
    return out.stdout.strip() == "healthy"


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "-p", PROJECT, "--profile", "ceph", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


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
    if not shutil.which("docker-compose"):
        pytest.skip("no docker-compose to start the ceph profile")
    from images.build import ensure_images

    ensure_images(["ceph"])
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = not _answers()
        if started:
            up = _compose("up", "-d", "ceph")
            assert up.returncode == 0, up.stderr
        container = f"{PROJECT}_ceph_1"
        deadline = time.monotonic() + 120
        while started and not _healthy(container):
            assert time.monotonic() < deadline, "the ceph container did not become healthy in 120 s"
            time.sleep(1)
        try:
            yield MONITOR
        finally:
            if started:
                _compose("down", "-v", "--remove-orphans")
