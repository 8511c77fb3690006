"""Hollow nodes join a cluster that requires credentials: ``jetkube up --hollow-nodes N`` runs a
fleet in the cluster's process, and ``jetkube hollow-nodes --credentials FILE`` (the file up wrote)
joins from another process; both as the fleet's own user, and both run the pods bound to them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator

import pytest

from bus.client import ApiClient
from bus.connection import Bus
from cli.localcluster import ROOT, LocalCluster
from tests.waiting import line_with, wait_for


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    data = tmp_path_factory.mktemp("hollow-up") / "data"
    with LocalCluster(data, log_level="warning", extra_args=("--hollow-nodes", "2")) as c:
        yield c


def ready(node: dict) -> bool:
    conds = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


async def test_up_hollow_nodes_and_a_fleet_from_elsewhere_run_pods(cluster: LocalCluster) -> None:
    creds = cluster.data_dir / "credentials" / "hollow-nodes.json"

    async def banner() -> bool:  # up writes the file, then prints how to use it; the api answers before
        return "jetkube hollow-nodes --credentials" in cluster.log_path.read_text()

    await wait_for(banner, 60, "up's banner naming the hollow nodes' credentials")
    assert creds.stat().st_mode & 0o077 == 0  # owner only

    # another process, only the file: no --server, no other secret
    fleet = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "cli.main", "hollow-nodes", "--credentials", str(creds)),
        *("--count", "2", "--prefix", "remote-", "--log-level", "warning"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "JETKUBE_SERVER": ""},
    )
    bus = await Bus.connect(cluster.login("admin"))
    try:
        await line_with(fleet, "2 hollow nodes ready", timeout=60)
        api = ApiClient(bus)

        async def all_ready() -> bool:
            nodes = {n["metadata"]["name"]: n for n in (await api.list("nodes"))["items"]}
            want = {"hollow-0", "hollow-1", "remote-0", "remote-1"}
            return want <= set(nodes) and all(ready(nodes[n]) for n in want)

        await wait_for(all_ready, timeout=30, what="four Ready hollow nodes")
        for name, node in (("in-up", "hollow-1"), ("from-elsewhere", "remote-0")):
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name},
                "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
            }
            await api.create("pods", pod, "default")

        async def running() -> bool:
            phases = {
                p["metadata"]["name"]: (p.get("status") or {}).get("phase")
                for p in (await api.list("pods", "default"))["items"]
            }
            return phases.get("in-up") == "Running" and phases.get("from-elsewhere") == "Running"

        await wait_for(running, timeout=30, what="both pods Running")
    finally:
        await bus.close()
        if fleet.returncode is None:
            fleet.send_signal(signal.SIGTERM)
            await asyncio.wait_for(fleet.wait(), 30)
