"""Fixtures shared by the Docker end-to-end tests, against the real engine.

Every container a test creates carries ``io.jetkube.node=<a node name unique to this run>``: a
test's node names come from ``node_name()``, and the ``runtime`` fixture removes every container
of those nodes afterwards (and fails the test if any is left). The images are built (cached) once
per session by images/build.py.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from actors.kubelet.runtime import DockerRuntime

HERE = Path(__file__).resolve().parent
RUN_ID = uuid.uuid4().hex[:8]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def images() -> None:
    if shutil.which("docker") is None and not os.path.exists("/var/run/docker.sock"):
        pytest.skip("no Docker engine")
    from images.build import ensure_images

    ensure_images(["busybox", "pause", "perl"])


@pytest.fixture
def node_names() -> list[str]:
    return []


@pytest.fixture
def node_name(node_names: list[str]) -> Callable[[str], str]:
    def make(suffix: str = "a") -> str:
        name = f"e2e-{RUN_ID}-{suffix}-{uuid.uuid4().hex[:4]}"
        node_names.append(name)
        return name

    return make


@pytest.fixture
async def runtime(images: None, tmp_path: Path, node_names: list[str]) -> AsyncIterator[DockerRuntime]:
    rt = await DockerRuntime.connect(state_dir=tmp_path / "state")
    try:
        yield rt
    finally:
        # A kubelet's stop can race a sandbox the engine is still creating (seen twice in CI):
        # sweep until a listing comes back empty, for up to 10 s.
        deadline = time.monotonic() + 10
        while left := [c for n in set(node_names) for c in await rt.list(n)]:
            assert time.monotonic() < deadline, f"containers left behind: {left}"
            for c in left:
                await rt.remove(c.id)
        await rt.close()
