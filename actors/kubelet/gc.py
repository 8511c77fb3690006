"""The kubelet's garbage collectors: dead containers, and images when the disk fills.

    ContainerGC(runtime, node_name, ContainerGCPolicy(...), active_pods=kubelet_uids).run()
    ImageGC(runtime, high_threshold=90, low_threshold=80).run()

Both are supervised agents: a pass (:meth:`once`) lists, decides with the pure functions of
gc_plan.py and removes; ``run()`` repeats it every ``period`` seconds (the kubelet's: one minute
for containers, five for images). An engine error ends the pass with a warning and the next pass
tries again; nothing is retried in a tight loop. Container GC touches only this node's containers
(by the ``io.jetkube.node`` label). Image GC looks at the engine's whole image filesystem, which
kubelets sharing an engine share: any of them may collect, and none removes an image that any
container uses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING

import structlog

from actors.kubelet.cri import ContainerRuntime
from actors.kubelet.gc_plan import (
    ContainerGCPolicy,
    check_image_thresholds,
    containers_to_remove,
    images_to_collect,
)
from actors.kubelet.types import ContainerSummary, ImageInfo
from schemas.errors import JetkubeError, NotFound

if TYPE_CHECKING:
    from actors.kubelet.docker_runtime import DockerRuntime

log = structlog.get_logger(__name__)

CONTAINER_GC_PERIOD = 60.0
IMAGE_GC_PERIOD = 300.0
IMAGE_MIN_AGE = 120.0  # the kubelet's --minimum-image-ttl-duration

ActivePods = Callable[[], Collection[str] | None]


class ContainerGC:
    def __init__(
        self,
        runtime: ContainerRuntime,
        node_name: str,
        policy: ContainerGCPolicy | None = None,
        *,
        active_pods: ActivePods | None = None,
        period: float = CONTAINER_GC_PERIOD,
    ) -> None:
        self.runtime = runtime
        self.node_name = node_name
        self.policy = policy or ContainerGCPolicy()
        self.active_pods = active_pods
        self.period = period

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self.once()
            except JetkubeError as err:
                log.warning("gc.containers_failed", node=self.node_name, error=err.message)

    async def once(self) -> list[ContainerSummary]:
        """One pass; the containers removed (in the order they were)."""
        active = self.active_pods() if self.active_pods is not None else None
        containers = await self.runtime.list(self.node_name)
        chosen = containers_to_remove(containers, self.policy, now=time.time(), active_pods=active)
        removed = []
        for c in chosen:
            try:
                await self.runtime.remove(c.id)
            except JetkubeError as err:
                log.warning("gc.container_remove_failed", id=c.id[:12], error=err.message)
                continue
            removed.append(c)
            log.info(
                "gc.container_removed",
                node=self.node_name,
                pod=f"{c.namespace}/{c.pod_name}",
                container=c.container_name,
                attempt=c.attempt,
                id=c.id[:12],
            )
        if active is not None:  # a gone pod's host files go with its last container
            removed_ids = {c.id for c in removed}
            remaining = {c.pod_uid for c in containers if c.id not in removed_ids}
            for uid in {c.pod_uid for c in removed} - remaining - set(active):
                await self.runtime.remove_pod_dir(uid)
        return removed


class ImageGC:
    def __init__(
        self,
        runtime: DockerRuntime,  # its pause image and image use: Docker's only
        high_threshold: int = 90,
        low_threshold: int = 80,
        *,
        period: float = IMAGE_GC_PERIOD,
        min_age: float = IMAGE_MIN_AGE,
        keep: Iterable[str] | None = None,
        docker_root_dir: str | None = None,
    ) -> None:
        check_image_thresholds(high_threshold, low_threshold)
        self.runtime = runtime
        self.high = high_threshold
        self.low = low_threshold
        self.period = period
        self.min_age = min_age
        self.keep = tuple(keep) if keep is not None else (runtime.pause_image,)
        self.docker_root_dir = docker_root_dir

    async def run(self) -> None:
        while True:
            try:
                await self.once()
            except JetkubeError as err:
                log.warning("gc.images_failed", error=err.message)
            await asyncio.sleep(self.period)

    async def fs_stats(self) -> tuple[int, int] | None:
        if self.docker_root_dir is None:
            self.docker_root_dir = (await self.runtime.info()).docker_root_dir
        stats = self.runtime.image_fs_stats(self.docker_root_dir)
        if stats is None:
            log.info("gc.images_no_fs_stats", root=self.docker_root_dir)
        return stats

    async def once(self) -> list[ImageInfo]:
        """One pass; the images removed."""
        if self.high >= 100:  # 100 turns image GC off, as in the kubelet
            return []
        fs = await self.fs_stats()
        if fs is None:
            return []
        images, in_use = await self.runtime.images_for_gc()
        chosen = images_to_collect(
            images,
            in_use,
            self.runtime.image_usage.last_used,
            fs,
            high=self.high,
            low=self.low,
            now=time.time(),
            min_age=self.min_age,
            keep=self.keep,
        )
        removed = []
        for img in chosen:
            try:
                # by each tag, then by id: removing an id that several tags name needs force
                for ref in (*img.tags, img.id) if img.tags else (img.id,):
                    try:
                        await self.runtime.remove_image(ref)
                    except NotFound:
                        pass
            except JetkubeError as err:  # a container started from it meanwhile, say
                log.warning("gc.image_remove_failed", image=img.tags or img.id[:19], error=err.message)
                continue
            removed.append(img)
            log.info("gc.image_removed", image=list(img.tags) or img.id[:19], bytes=img.size)
        return removed
