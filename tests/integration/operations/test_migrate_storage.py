"""``jetkube migrate-storage`` killed half-way and run again: everything converted, nothing lost.

A real ``jetkube up`` writes 120 ReplicaSets in apps/v1beta2, is restarted writing apps/v1, and
the migration runs as a user runs it (a child process, ``--qps`` so it takes a few seconds). It is
SIGKILLed after its first checkpoints while the test writes labels to some of the objects at the
same time (compare-and-set races with the migration); the second run resumes after the last
checkpoint and finishes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from actors.storagemigration import progress
from bus.client import ApiClient
from bus.connection import Bus
from cli.localcluster import ROOT, LocalCluster
from tests.integration.operations.helpers import jetkube, objects, stored_versions, until

COUNT = 120


async def _create_replicasets(url: str) -> None:
    bus = await Bus.connect(url)
    try:
        api = ApiClient(bus)
        for i in range(COUNT):
            await api.create(
                "replicasets",
                {
                    "apiVersion": "apps/v1beta2",
                    "kind": "ReplicaSet",
                    "metadata": {"name": f"rs-{i:03d}"},
                    "spec": {
                        "replicas": 0,
                        "selector": {"matchLabels": {"rs": str(i)}},
                        "template": {
                            "metadata": {"labels": {"rs": str(i)}},
                            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
                        },
                    },
                },
                namespace="default",
            )
    finally:
        await bus.close()


async def _progress(url: str) -> dict | None:
    bus = await Bus.connect(url)
    try:
        return await progress(bus)
    finally:
        await bus.close()


async def _label(url: str, names: list[str]) -> None:
    bus = await Bus.connect(url)
    try:
        api = ApiClient(bus)
        for name in names:
            await api.patch(
                "replicasets", name, {"metadata": {"labels": {"touched": "yes"}}}, namespace="default"
            )
    finally:
        await bus.close()


def test_migrate_storage_resumes_after_a_crash_and_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "cluster"
    with LocalCluster(data, extra_args=("--storage-versions", "apps/v1beta2")) as cluster:
        asyncio.run(_create_replicasets(cluster.url))
        assert set(stored_versions(cluster.url, "replicasets").values()) == {"apps/v1beta2"}
        before = {k: o["metadata"]["uid"] for k, o in objects(cluster.url, "replicasets").items()}
        assert len(before) == COUNT

    with LocalCluster(data) as cluster:  # now writing apps/v1
        url = cluster.url
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "cli.main", "--server", url, "migrate-storage", "--qps", "40"]
        child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            until(
                lambda: (asyncio.run(_progress(url)) or {}).get("done", 0) >= 50,
                timeout=30,
                what="two checkpoints of the first run",
            )
            asyncio.run(_label(url, [f"rs-{i:03d}" for i in range(40, 60)]))  # races the migration
        finally:
            child.send_signal(signal.SIGKILL)  # a crash: no cleanup, no last checkpoint
            child.wait(timeout=10)
        record = asyncio.run(_progress(url))
        assert record is not None and not record["finished"]
        half = stored_versions(url, "replicasets")
        assert "apps/v1beta2" in set(half.values()), "the first run was meant to stop half-way"

        out = jetkube(url, "migrate-storage").output
        assert f"resumed after {record['lastKey']}" in out

        assert set(stored_versions(url, "replicasets").values()) == {"apps/v1"}
        after = objects(url, "replicasets")
        assert {k: o["metadata"]["uid"] for k, o in after.items()} == before
        touched = {k for k, o in after.items() if (o["metadata"].get("labels") or {}).get("touched") == "yes"}
        assert len(touched) == 20
        status = jetkube(url, "migrate-storage", "--status").output
        assert status.startswith(f"finished: {COUNT}/{COUNT} objects looked at")
