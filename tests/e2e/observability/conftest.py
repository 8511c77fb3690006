"""Observability end to end: an in-process api on a real nats-server, real kubelets on the local
Docker engine (stats sampled every second), pods bound to them at create (no scheduler needed).

``nodes(n)`` starts n kubelets (each its own Supervisor, so one can be stopped and started again
with :meth:`Nodes.restart`); pods are made with :meth:`Nodes.pod` and waited for Running.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from actors.kubelet.runtime import DockerRuntime
from actors.runtime.supervisor import Supervisor
from bus.connection import Bus
from tests.waiting import wait_for as eventually

BUSYBOX = "gcr.io/google_containers/busybox"


@dataclass
class Nodes:
    bus: Bus
    api: Any
    url: str
    runtime: DockerRuntime
    tmp: Path
    names: list[str] = field(default_factory=list)
    sups: dict[str, Supervisor] = field(default_factory=dict)

    async def start(self, node: str) -> None:
        from actors.kubelet.process import start_kubelet

        sup = Supervisor(f"kubelet-{node}")
        kubelet = await start_kubelet(
            sup,
            self.bus,
            node_name=node,
            state_dir=str(self.tmp / node),
            heartbeat_interval=2,
            resync_period=2,
            stats_interval=1,
        )
        assert kubelet, "no Docker engine"
        self.sups[node] = sup
        if node not in self.names:
            self.names.append(node)

    async def restart(self, node: str) -> None:
        await self.sups.pop(node).stop()
        await self.start(node)

    async def stop_all(self) -> None:
        for sup in self.sups.values():
            await sup.stop()
        self.sups.clear()

    async def pod(
        self,
        name: str,
        node: str,
        script: str,
        *,
        namespace: str = "default",
        labels: dict[str, str] | None = None,
        containers: list[dict[str, Any]] | None = None,
        cpu: str | None = None,
    ) -> dict[str, Any]:
        c: dict[str, Any] = {"name": "c", "image": BUSYBOX, "command": ["sh", "-c", script]}
        if cpu:
            c["resources"] = {"limits": {"cpu": cpu}}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"nodeName": node, "containers": containers or [c], "terminationGracePeriodSeconds": 0},
        }
        await self.api.create("pods", pod)

        async def running() -> dict[str, Any] | None:
            got = await self.api.get("pods", name, namespace)
            statuses = (got.get("status") or {}).get("containerStatuses") or []
            ok = statuses and all("running" in (s.get("state") or {}) for s in statuses)
            return got if ok else None

        return await eventually(running, 60, f"pod {namespace}/{name} running")


@pytest.fixture
async def nodes(
    bus: Bus, api: Any, nats_url: str, runtime: DockerRuntime, node_name: Callable[[str], str], tmp_path: Path
) -> AsyncIterator[Callable[[int], Any]]:
    made: list[Nodes] = []

    async def make(count: int) -> Nodes:
        cluster = Nodes(bus, api, nats_url, runtime, tmp_path)
        made.append(cluster)
        for i in range(count):
            await cluster.start(node_name(f"obs{i}"))
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            await cluster.stop_all()
