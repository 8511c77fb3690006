"""Garbage collection against the real engine: dead containers (oldest first, per-container and
node limits, gone pods) and one image GC pass on throwaway images."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from typing import Any

import pytest

from actors.kubelet import labels as L
from actors.kubelet.gc import ContainerGC, ImageGC
from actors.kubelet.gc_plan import ContainerGCPolicy
from actors.kubelet.runtime import DockerRuntime
from actors.kubelet.types import ImageInfo
from tests.e2e.kubelet_services.helpers import BUSYBOX, exited, pod_manifest, sandbox_for, start_attempt


async def dead_attempts(rt: DockerRuntime, node: str, counts: dict[str, int]) -> dict[str, Any]:
    """A pod whose containers each ran ``counts[name]`` times and exited; ids by (name, attempt)."""
    pod = pod_manifest("gc", node, [])
    pod["metadata"]["uid"] = str(uuid.uuid4())
    sb = await sandbox_for(rt, pod, node)
    ids: dict[tuple[str, int], str] = {}
    for attempt in range(max(counts.values())):
        for name, count in counts.items():
            if attempt < count:
                c = {"name": name, "image": BUSYBOX, "command": ["true"]}
                ids[(name, attempt)] = await start_attempt(rt, sb, pod, c, attempt)
    for cid in ids.values():
        await exited(rt, cid)
    return {"pod": pod, "sandbox": sb.id, "ids": ids}


async def left(rt: DockerRuntime, node: str) -> set[tuple[str, int]]:
    return {(c.container_name, c.attempt) for c in await rt.list(node) if c.type == L.TYPE_CONTAINER}


async def test_container_gc_removes_the_oldest_dead_first(runtime: DockerRuntime, node_name) -> None:
    node = node_name("gc")
    made = await dead_attempts(runtime, node, {"a": 4, "b": 2})
    gc = ContainerGC(runtime, node, ContainerGCPolicy(max_per_pod_container=2))
    removed = await gc.once()
    assert [(c.container_name, c.attempt) for c in removed] == [("a", 0), ("a", 1)]
    assert await left(runtime, node) == {("a", 2), ("a", 3), ("b", 0), ("b", 1)}
    # at most 2 dead on the node: one per container, the newest
    gc.policy = ContainerGCPolicy(max_per_pod_container=-1, max_containers=2)
    removed = await gc.once()
    assert [(c.container_name, c.attempt) for c in removed] == [("b", 0), ("a", 2)]
    assert await left(runtime, node) == {("a", 3), ("b", 1)}
    # the pod is gone: all of its dead containers go; its sandbox runs, and GC never stops anything
    gc.active_pods = lambda: set()
    await gc.once()
    assert await left(runtime, node) == set()
    assert [c.id for c in await runtime.list(node)] == [made["sandbox"]]


async def test_container_gc_touches_only_its_node(runtime: DockerRuntime, node_name) -> None:
    mine, other = node_name("mine"), node_name("other")
    await dead_attempts(runtime, mine, {"a": 2})
    await dead_attempts(runtime, other, {"a": 2})
    await ContainerGC(runtime, mine, ContainerGCPolicy(max_per_pod_container=0)).once()
    assert await left(runtime, mine) == set()
    assert await left(runtime, other) == {("a", 0), ("a", 1)}


class OnlyImages:
    """The real runtime, showing image GC only the test's throwaway images, on a full disk."""

    def __init__(self, rt: DockerRuntime, tags: set[str]) -> None:
        self.rt = rt
        self.tags = tags
        self.pause_image = rt.pause_image
        self.image_usage = rt.image_usage

    async def images_for_gc(self) -> tuple[list[ImageInfo], set[str]]:
        images, in_use = await self.rt.images_for_gc()
        return [i for i in images if self.tags & set(i.tags)], in_use

    def image_fs_stats(self, root: str) -> tuple[int, int]:
        return 100, 0  # 100 % used

    async def remove_image(self, ref: str, *, force: bool = False) -> None:
        await self.rt.remove_image(ref, force=force)


def build(tag: str) -> None:
    dockerfile = f"FROM {BUSYBOX}\nLABEL io.jetkube.test.gc={tag}\n"
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, "-"], input=dockerfile.encode(), check=True, capture_output=True
    )


async def test_image_gc_removes_unused_images_and_keeps_used_ones(runtime: DockerRuntime, node_name) -> None:
    node = node_name("img")
    token = uuid.uuid4().hex[:8]
    unused, used = f"jetkube-gc-test:unused-{token}", f"jetkube-gc-test:used-{token}"
    await asyncio.to_thread(build, unused)
    await asyncio.to_thread(build, used)
    try:
        pod = pod_manifest("img", node, [])
        pod["metadata"]["uid"] = str(uuid.uuid4())
        sb = await sandbox_for(runtime, pod, node)
        # a container that never ran still holds its image
        await runtime.create_container(sb, pod, {"name": "c", "image": used, "command": ["true"]}, attempt=0)
        gc = ImageGC(OnlyImages(runtime, {unused, used}), 90, 80, min_age=0, docker_root_dir="/")  # type: ignore[arg-type]
        removed = await gc.once()
        assert [i.tags for i in removed] == [(unused,)]
        assert await runtime.image_id(unused) is None
        assert await runtime.image_id(used) is not None
        assert await gc.once() == []  # the used one stays, however full the disk
    finally:
        for c in await runtime.list(node):
            await runtime.remove(c.id)
        for tag in (unused, used):
            await asyncio.to_thread(subprocess.run, ["docker", "rmi", "-f", tag], capture_output=True)


@pytest.mark.parametrize("high", [100])
async def test_image_gc_at_100_percent_is_off(runtime: DockerRuntime, high: int) -> None:
    gc = ImageGC(OnlyImages(runtime, set()), high, 80)  # type: ignore[arg-type]
    assert await gc.once() == []
