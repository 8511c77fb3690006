"""Fixtures for the kubelet's end-to-end tests: an in-process api plus a real kubelet on Docker.

``kubelet_factory(heartbeat=1, docker_host=None)`` starts a kubelet (its own Supervisor) for a node
name unique to the test and returns a :class:`KubeletHandle`; the handle binds pods to that node at
create (``spec.nodeName``: no scheduler needed, deterministic) and polls the api with deadlines.
Afterwards every container and volume labelled with the test's node names is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from actors.kubelet.kubelet import Kubelet
from actors.kubelet.process import start_kubelet
from actors.kubelet.runtime import DockerRuntime
from actors.runtime.supervisor import Supervisor
from bus.events import list_events
from schemas.errors import NotFound
from tests.seedpaths import SEED_EXAMPLES

SEED = SEED_EXAMPLES
REPO = Path(__file__).resolve().parents[3]
Obj = dict[str, Any]


def seed_example(name: str) -> Obj:
    """A pod manifest of the seed (the shared copy, or the repo's if it has one)."""
    for base in (SEED, REPO / "docs" / "examples", REPO / "examples"):
        p = base / name
        if p.exists():
            return yaml.safe_load(p.read_text())
    pytest.skip(f"seed example {name} not found")


@dataclass
class KubeletHandle:
    api: Any
    bus: Any
    node: str
    kubelet: Kubelet
    sup: Supervisor
    runtime: DockerRuntime

    async def create(self, pod: Obj, namespace: str = "default") -> Obj:
        pod = copy.deepcopy(pod)
        pod.setdefault("apiVersion", "v1")
        pod.setdefault("kind", "Pod")
        pod.setdefault("spec", {})["nodeName"] = self.node
        pod["metadata"].setdefault("namespace", namespace)
        return await self.api.create("pods", pod)

    async def get(self, name: str, namespace: str = "default") -> Obj | None:
        try:
            return await self.api.get("pods", name, namespace)
        except NotFound:
            return None

    async def wait_pod(
        self,
        name: str,
        cond: Callable[[Obj], object],
        timeout: float = 30.0,
        what: str = "",
        namespace: str = "default",
    ) -> Obj:
        deadline = time.monotonic() + timeout
        last: Obj | None = None
        while True:
            last = await self.get(name, namespace)
            if last is not None and cond(last):
                return last
            if time.monotonic() > deadline:
                got = last and last.get("status")
                pytest.fail(f"timed out after {timeout}s waiting for pod {name} {what}; last: {got}")
            await asyncio.sleep(0.1)

    async def wait_gone(self, name: str, timeout: float = 30.0, namespace: str = "default") -> None:
        deadline = time.monotonic() + timeout
        while await self.get(name, namespace) is not None:
            if time.monotonic() > deadline:
                pytest.fail(f"pod {name} still exists after {timeout}s")
            await asyncio.sleep(0.1)

    async def events(self, name: str, namespace: str = "default") -> list[Obj]:
        return await list_events(self.bus, namespace, kind="pod", name=name)

    async def wait_event(self, name: str, reason: str, timeout: float = 30.0, contains: str = "") -> Obj:
        deadline = time.monotonic() + timeout
        while True:
            for ev in await self.events(name):
                if ev.get("reason") == reason and contains in (ev.get("message") or ""):
                    return ev
            if time.monotonic() > deadline:
                got = [(e.get("reason"), e.get("message")) for e in await self.events(name)]
                pytest.fail(f"no {reason} event for {name} within {timeout}s; events: {got}")
            await asyncio.sleep(0.2)

    async def containers(self, pod_name: str | None = None, *, type_: str | None = "container") -> list:
        items = await self.runtime.list(self.node, type_=type_)
        return [c for c in items if pod_name is None or c.pod_name == pod_name]

    async def logs(self, pod_name: str, container: str | None = None) -> list[str]:
        items = [
            c for c in await self.containers(pod_name) if container is None or c.container_name == container
        ]
        if not items:
            return []
        latest = max(items, key=lambda c: c.attempt)
        return [line async for line in self.runtime.logs(latest.id)]

    async def stop(self) -> None:
        await self.sup.stop()


def cstatus(pod: Obj, name: str | None = None) -> Obj:
    for st in (pod.get("status") or {}).get("containerStatuses") or []:
        if name is None or st["name"] == name:
            return st
    return {}


def phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def running(pod: Obj) -> bool:
    return phase(pod) == "Running" and all(
        "running" in (s.get("state") or {})
        for s in (pod.get("status") or {}).get("containerStatuses") or [{}]
    )


def waiting_reason(pod: Obj, name: str | None = None) -> str:
    return ((cstatus(pod, name).get("state") or {}).get("waiting") or {}).get("reason") or ""


@dataclass
class Cleanup:
    nodes: list[str] = field(default_factory=list)


async def _unmount_under(path: Path) -> None:
    """Unmount what the kubelet mounted (emptyDir medium Memory) below the test's directory."""
    lines = Path("/proc/mounts").read_text().splitlines()  # noqa: ASYNC240 (a pseudo-file: no blocking)
    points = [line.split()[1] for line in lines if line.split()[1].startswith(str(path))]
    for point in sorted(points, reverse=True):
        proc = await asyncio.create_subprocess_exec("umount", point)
        await proc.wait()


@pytest.fixture
async def kubelet_factory(
    images: None, bus: Any, api: Any, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[KubeletHandle]]]:
    from images.build import ensure_images

    await asyncio.to_thread(ensure_images, ["busybox", "pause", "liveness", "proxy"])  # cached: inspects only
    handles: list[KubeletHandle] = []
    nodes: list[str] = []
    rt = await DockerRuntime.connect(state_dir=tmp_path / "state")

    async def make(
        *,
        node: str | None = None,
        heartbeat: float = 1.0,
        resync: float = 2.0,
        docker_host: str | None = None,
    ) -> KubeletHandle:
        name = node or f"kl-{uuid.uuid4().hex[:8]}"
        if name not in nodes:
            nodes.append(name)
        sup = Supervisor(f"kubelet-{name}", stop_timeout=15)
        kubelet = await start_kubelet(
            sup,
            bus,
            node_name=name,
            docker_host=docker_host,
            heartbeat_interval=heartbeat,
            resync_period=resync,
            state_dir=str(tmp_path / "state"),
            api=api,
        )
        assert kubelet, "no Docker engine"
        h = KubeletHandle(api, bus, name, kubelet, sup, rt)
        handles.append(h)
        return h

    try:
        yield make
    finally:
        for h in handles:
            await h.sup.stop()
        for node in nodes:
            for c in await rt.list(node):
                await rt.remove(c.id)
            with contextlib.suppress(Exception):
                data = await rt._docker.volumes.list(filters={"label": [f"io.jetkube.node={node}"]})
                for v in data.get("Volumes") or []:
                    await rt.remove_volumes(node, v.get("Labels", {}).get("io.jetkube.pod.uid", ""))
        await _unmount_under(tmp_path)
        leftovers = [c for n in nodes for c in await rt.list(n)]
        await rt.close()
        assert not leftovers, "containers left behind"


@pytest.fixture
async def kubelet(kubelet_factory: Callable[..., Awaitable[KubeletHandle]]) -> KubeletHandle:
    return await kubelet_factory()
