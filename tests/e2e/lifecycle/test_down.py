"""``jetkube down`` on the real Docker engine, with two clusters (``jetkube up``) sharing it: down
of one stops it and removes every container its kubelet made, and leaves the other's running;
``--purge`` deletes the data dir. And ``kill -9`` of a ``jetkube kubelet`` leaves no child."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.kubelet.docker_cluster import cluster_containers, remove_cluster_containers
from bus.client import ApiClient
from bus.connection import Bus
from bus.embedded import EmbeddedNats
from cli.datadir import existing_cluster_id
from cli.localcluster import ROOT, LocalCluster
from tests.integration.lifecycle.procs import descendants, wait_gone
from tests.waiting import wait_for

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "sleeper"},
    "spec": {
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}],
    },
}


@pytest.fixture
def clusters(images: None, tmp_path: Path) -> Iterator[list[LocalCluster]]:
    made: list[LocalCluster] = []
    try:
        for name in ("a", "b"):
            node = f"e2e-down-{name}-{uuid.uuid4().hex[:6]}"
            args = ("--node-name", node, "--ingress-port", "0")
            made.append(LocalCluster(tmp_path / name, kubelet=True, extra_args=args))
            made[-1].start()
        yield made
    finally:
        for c in made:
            c.stop()
            if cid := existing_cluster_id(c.data_dir):
                asyncio.run(remove_cluster_containers(cid))


async def _run_a_pod(cluster: LocalCluster) -> str:
    cid = existing_cluster_id(cluster.data_dir)
    assert cid
    bus = await Bus.connect(cluster.url)
    try:
        await ApiClient(bus).create("pods", POD, namespace="default")
    finally:
        await bus.close()

    async def sandbox_and_app_run() -> bool:
        return len(await cluster_containers(cid, running_only=True)) >= 2

    await wait_for(sandbox_and_app_run, 60, f"the pod's containers in cluster {cid}")
    return cid


def _down(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "down", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_down_removes_its_clusters_containers_and_no_other(clusters: list[LocalCluster]) -> None:
    a, b = clusters
    cid_a, cid_b = asyncio.run(_run_a_pod(a)), asyncio.run(_run_a_pod(b))
    assert cid_a != cid_b
    up_pid = a.process.pid  # type: ignore[union-attr]

    done = _down("--data-dir", str(a.data_dir))
    assert done.returncode == 0, done.stderr
    said = [f"stopped jetkube up (pid {up_pid})", f"removed 2 containers of cluster {cid_a}"]
    assert done.stdout.splitlines() == said
    assert a.process.wait(timeout=10) is not None  # type: ignore[union-attr]
    # jetkube up said, as it stopped with pods still running, that down exists
    assert f"jetkube down --data-dir {a.data_dir} removes them" in a.log_path.read_text()
    assert asyncio.run(cluster_containers(cid_a)) == []
    assert len(asyncio.run(cluster_containers(cid_b, running_only=True))) == 2  # the other cluster's stay
    assert b.process.poll() is None  # type: ignore[union-attr]

    purged = _down("--data-dir", str(b.data_dir), "--purge")
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.splitlines()[-1] == f"deleted {b.data_dir}"
    assert not b.data_dir.exists()
    assert asyncio.run(cluster_containers(cid_b)) == []


def test_down_of_a_dir_that_is_no_data_dir_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    done = _down("--data-dir", str(tmp_path), "--purge")
    assert done.returncode == 1
    said = f"error: --data-dir: {tmp_path} holds no jetkube up state (cluster-id, jetstream)"
    assert done.stderr.strip() == said
    assert (tmp_path / "keep.txt").read_text() == "mine"


async def test_kill_9_of_kubelet_leaves_no_child(
    images: None, nats_server: EmbeddedNats, api: ApiClient
) -> None:
    node, cid = f"e2e-kill-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:16]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "kubelet", "--server", nats_server.url, "--node-name", node,
        "--root-dir", str(nats_server.data_dir.parent / "kubelet"), "--cluster-id", cid,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        pod = {**POD, "spec": {**POD["spec"], "nodeName": node}}  # type: ignore[dict-item]
        await api.create("pods", pod, namespace="default")

        async def running() -> bool:  # labelled with --cluster-id: what jetkube down looks for
            return len(await cluster_containers(cid, running_only=True)) >= 2

        await wait_for(running, 60, f"the pod's containers on node {node}")
        children = descendants(proc.pid)
        proc.kill()
        await proc.wait()
        await asyncio.to_thread(wait_gone, children, 15, "children of the killed jetkube kubelet")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await remove_cluster_containers(cid)
    assert await cluster_containers(cid) == []
