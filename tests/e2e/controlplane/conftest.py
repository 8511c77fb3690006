"""One cluster for the package (see cluster.py), shared by its numbered modules: NATS,
``jetkube controlplane``, two kubelets.

Tests speak to it only as a user would: the api over NATS (``capi``) and the ``jetkube`` CLI.
Each test gets its own namespace (``ns``). A CronJob on ``*/1 * * * *`` is created as the cluster
comes up so that the test checking it later waits less than a full minute.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.controlplane.cluster import Cluster, node_name
from tests.e2e.controlplane.helpers import CRONJOB, node_ready, with_api


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/controlplane" in str(item.fspath):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if shutil.which("docker") is None and not os.path.exists("/var/run/docker.sock"):
        pytest.skip("no Docker engine")
    from images.build import ensure_images

    ensure_images(["busybox", "pause", "perl"])
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    c.start_nats()
    try:
        c.start_controlplane("cp-a")
        for suffix in ("a", "b"):
            c.start_kubelet(node_name(suffix))
        asyncio.run(with_api(c.url, _ready_and_cronjob))
        c.cronjob_created = time.monotonic()
        yield c
    finally:
        c.stop()
        left = c.remove_containers()
        assert not left, f"containers left behind: {left}"


async def _ready_and_cronjob(api: Any) -> None:
    from tests.e2e.controlplane.helpers import wait

    async def api_up() -> bool:
        from schemas.errors import ServiceUnavailable

        try:
            await api.get("namespaces", "default")
        except ServiceUnavailable:
            return False
        return True

    await wait(api_up, 60, "the api to answer")

    async def nodes_ready() -> bool:
        return all([await node_ready(api, node_name(s)) for s in ("a", "b")])

    await wait(nodes_ready, 60, "both kubelets' nodes Ready")
    await api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cron"}})
    await api.create("cronjobs", CRONJOB, namespace="cron")


@pytest.fixture
async def capi(cluster: Cluster) -> AsyncIterator[Any]:
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(cluster.url, name="e2e-test")
    try:
        yield ApiClient(bus)
    finally:
        await bus.close()


@pytest.fixture
async def ns(capi: Any, request: pytest.FixtureRequest) -> str:
    name = "t-" + request.node.name.removeprefix("test_").replace("_", "-")[:40].rstrip("-")
    await capi.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@pytest.fixture
def workdir(cluster: Cluster) -> Path:
    return cluster.workdir
