"""The node agent: register this kubelet's Node, then heartbeat its Ready condition.

Registration creates the Node (or, when it exists from an earlier run, adds our labels to it and
takes over its status). Every ``heartbeat_interval`` seconds the agent asks the engine for its
version: Ready=True when it answers, Ready=False (KubeletNotReady, with the engine's error) when it
does not; the status goes out with ``update_status``, compare-and-set on the revision last read,
and a Conflict (the node lifecycle controller wrote meanwhile) re-reads and tries again. The
kubelet ignores ``spec.unschedulable``: it is the scheduler's hint, running pods stay.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from actors.kubelet.context import KubeletContext
from actors.kubelet.node_status import node_labels, node_object, node_status
from actors.kubelet.types import NodeCapacity
from actors.runtime.backoff import Backoff
from schemas.errors import AlreadyExists, Conflict, JetkubeError, NotFound
from schemas.status import now_rfc3339

log = structlog.get_logger(__name__)

Obj = dict[str, Any]


class NodeAgent:
    def __init__(
        self, ctx: KubeletContext, labels: dict[str, str] | None, heartbeat_interval: float = 10.0
    ) -> None:
        self.ctx = ctx
        self.labels = node_labels(ctx.node_name, labels)
        self.heartbeat_interval = heartbeat_interval
        self.capacity: NodeCapacity | None = None
        self.node: Obj | None = None
        self.ready: bool | None = None
        self.registered = asyncio.Event()

    async def _engine(self) -> tuple[bool, str]:
        try:
            self.capacity = await self.ctx.runtime.info()
            return True, ""
        except JetkubeError as exc:
            return False, f"container runtime is down: {exc.message}"

    async def register(self) -> None:
        ok, message = await self._engine()
        if self.capacity is None:
            raise JetkubeError(message or "cannot read the engine's capacity")
        status = node_status(
            None,
            self.capacity,
            node_name=self.ctx.node_name,
            host_ip=self.ctx.host_ip,
            ready=ok,
            message=message,
            now=now_rfc3339(),
        )
        self.ctx.allocatable = dict(status["allocatable"])
        api = self.ctx.api
        try:
            self.node = await api.create("nodes", node_object(self.ctx.node_name, self.labels, status))
            log.info("node.registered", node=self.ctx.node_name)
        except AlreadyExists:
            current = await api.get("nodes", self.ctx.node_name)
            labels = {**((current.get("metadata") or {}).get("labels") or {}), **self.labels}
            if labels != (current.get("metadata") or {}).get("labels"):
                current = await api.patch("nodes", self.ctx.node_name, {"metadata": {"labels": labels}})
            self.node = current
            await self._post(ok, message)
            log.info("node.reregistered", node=self.ctx.node_name)
        self.ready = ok
        self.registered.set()

    async def _post(self, ok: bool, message: str) -> None:
        assert self.capacity is not None
        for _ in range(5):
            node = self.node or await self.ctx.api.get("nodes", self.ctx.node_name)
            status = node_status(
                node.get("status"),
                self.capacity,
                node_name=self.ctx.node_name,
                host_ip=self.ctx.host_ip,
                ready=ok,
                message=message,
                now=now_rfc3339(),
            )
            body = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": self.ctx.node_name,
                    "resourceVersion": node["metadata"].get("resourceVersion"),
                },
                "status": status,
            }
            try:
                self.node = await self.ctx.api.update_status("nodes", body)
                return
            except Conflict:
                self.node = None
            except NotFound:
                self.node = None
                await self.register()
                return
        raise Conflict(f"node {self.ctx.node_name}: status kept conflicting")

    async def heartbeat(self) -> None:
        ok, message = await self._engine()
        if ok != self.ready:
            log.warning("node.ready_changed", node=self.ctx.node_name, ready=ok, message=message)
        self.ready = ok
        await self._post(ok, message)

    async def run(self) -> None:
        backoff = Backoff(0.5, 10.0)
        while not self.registered.is_set():
            try:
                await self.register()
            except JetkubeError as exc:
                delay = backoff.next()
                log.warning(
                    "node.register_failed", node=self.ctx.node_name, error=exc.message, retry_in=delay
                )
                await asyncio.sleep(delay)
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.heartbeat()
            except JetkubeError as exc:
                log.warning("node.heartbeat_failed", node=self.ctx.node_name, error=exc.message)
