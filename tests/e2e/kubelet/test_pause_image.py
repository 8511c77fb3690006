"""A fresh engine: the kubelet's runtime makes its infra image itself before the first sandbox.

The test gives the runtime an image name of its own (``jetkube/pause-e2e:<run>``), so it never
touches the shared ``jetkube/pause:latest``, and removes that tag afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiodocker
import pytest

from actors.kubelet.pause_elf import LABEL, recipe_hash
from actors.kubelet.pause_image import ensure_pause_image
from actors.kubelet.runtime import DockerRuntime

pytestmark = pytest.mark.skipif(not Path("/var/run/docker.sock").exists(), reason="no Docker engine")


@pytest.fixture
async def own_tag() -> AsyncIterator[str]:
    tag = f"jetkube/pause-e2e:{uuid.uuid4().hex[:10]}"
    yield tag
    async with aiodocker.Docker() as docker:
        try:
            await docker.images.delete(tag, force=True)
        except aiodocker.DockerError:
            pass


async def test_first_sandbox_on_an_engine_without_the_image_builds_it(own_tag: str, tmp_path: Path) -> None:
    node = f"e2e-pause-{uuid.uuid4().hex[:8]}"
    rt = await DockerRuntime.connect(state_dir=tmp_path / "state", pause_image=own_tag)
    try:
        assert await rt.image_id(own_tag) is None
        sb = await rt.create_sandbox("default/first", "uid-first", node, "first")
        info = await rt.inspect_raw(sb.id)
        assert info["Config"]["Image"] == own_tag
        assert info["State"]["Running"]
        async with aiodocker.Docker() as docker:
            labels = (await docker.images.inspect(own_tag))["Config"]["Labels"]
            assert labels[LABEL] == recipe_hash()
            # present now: a second ensure builds nothing
            assert await ensure_pause_image(docker, own_tag) is False
        # docker stop sends SIGTERM to PID 1 of the sandbox: it exits 0, not 137 from SIGKILL
        await rt.stop(sb.id, grace_seconds=20)
        state = (await rt.inspect_raw(sb.id))["State"]
        assert (state["Running"], state["ExitCode"]) == (False, 0)
        # the image removed behind the kubelet's back: the next sandbox makes it again
        await rt.remove(sb.id)
        async with aiodocker.Docker() as docker:
            await docker.images.delete(own_tag, force=True)
        again = await rt.create_sandbox("default/second", "uid-second", node, "second")
        assert (await rt.inspect_raw(again.id))["State"]["Running"]
    finally:
        for c in await rt.list(node):
            await rt.remove(c.id)
        await rt.close()
