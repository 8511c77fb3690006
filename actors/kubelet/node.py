"""The node agent: register this kubelet's Node, then heartbeat with its Lease.

Registration creates the Node (or, when it exists from an earlier run, adds our labels to it and
takes over its status) and its Lease ``kube-node-lease/<node>`` (node_lease.py). Every
``heartbeat_interval`` seconds the agent asks the engine for its version (Ready=True when it
answers, Ready=False, KubeletNotReady with the engine's error, when it does not) and renews the
Lease; the Node status goes out only when it changed or ``status_report_interval`` (5 min) passed,
with ``update_status``, compare-and-set on the revision last read, and a Conflict (the node
lifecycle controller wrote meanwhile) re-reads and tries again. The kubelet ignores
``spec.unschedulable``: it is the scheduler's hint, running pods stay.

A new Node is created with ``register_conditions`` besides the kubelet's own (``--pod-network
flannel``: ``NetworkUnavailable`` True, ``NoRouteCreated``, until the network agent has set the host
up); conditions others write (that one) are kept by every later status write, which starts from the
Node as stored. A Node deleted under a running kubelet is registered again at the next heartbeat:
the node lifecycle controller deletes its Lease with it (the Node owns it), and a renewal that
finds neither Lease nor Node registers (Kubernetes' kubelet needs a restart for that).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import structlog

from actors.kubelet.context import KubeletContext
from actors.kubelet.node_lease import NAMESPACE, STATUS_REPORT_INTERVAL, lease_object, renewed, status_due
from actors.kubelet.node_status import node_labels, node_object, node_status
from actors.kubelet.types import NodeCapacity
from actors.runtime.backoff import Backoff
from schemas.errors import AlreadyExists, Conflict, JetkubeError, NotFound
from schemas.status import now_rfc3339, set_condition

log = structlog.get_logger(__name__)

Obj = dict[str, Any]


class NodeAgent:
    def __init__(
        self,
        ctx: KubeletContext,
        labels: dict[str, str] | None,
        heartbeat_interval: float = 10.0,
        status_report_interval: float = STATUS_REPORT_INTERVAL,
    ) -> None:
        self.ctx = ctx
        self.labels = node_labels(ctx.node_name, labels)
        self.heartbeat_interval = heartbeat_interval
        self.status_report_interval = status_report_interval
        self.lease: Obj | None = None
        self.status_written_at: float | None = None
        self.status_writes = 0
        self.lease_renewals = 0
        self.capacity: NodeCapacity | None = None
        self.node: Obj | None = None
        self.ready: bool | None = None
        self.registered = asyncio.Event()
        self.register_conditions: list[Obj] = []  # a new Node's extra conditions (see above)
        self.registrations = 0  # Nodes created (more than one: the Node was deleted under us)

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
        now = now_rfc3339()
        status = node_status(
            None,
            self.capacity,
            node_name=self.ctx.node_name,
            host_ip=self.ctx.host_ip,
            ready=ok,
            message=message,
            now=now,
        )
        self.ctx.allocatable = dict(status["allocatable"])
        for cond in self.register_conditions:
            cond = {**cond, "lastHeartbeatTime": now}
            status["conditions"] = set_condition(status["conditions"], cond, now=now)
        api = self.ctx.api
        try:
            self.node = await api.create("nodes", node_object(self.ctx.node_name, self.labels, status))
            self.registrations += 1
            self.status_written_at = time.monotonic()
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
        try:
            await self.renew_lease()
        except JetkubeError as exc:  # registered all the same: the next heartbeat tries again
            log.warning("node.lease_failed", node=self.ctx.node_name, error=exc.message)
        self.registered.set()

    async def renew_lease(self) -> None:
        """Renew (or create) ``kube-node-lease/<node>``, compare-and-set on the revision last read."""
        api = self.ctx.api
        for _ in range(5):
            now = datetime.now(UTC)
            try:
                if self.lease is None:
                    try:
                        self.lease = await api.get("leases", self.ctx.node_name, NAMESPACE)
                    except NotFound:
                        if not await self._node_exists():
                            # deleted under us (the Lease went with it): register again, which
                            # makes a Node and a Lease owned by it
                            log.warning("node.deleted_registering_again", node=self.ctx.node_name)
                            self.node = None
                            await self.register()
                            return
                        self.lease = await api.create(
                            "leases", lease_object(self.node or self.ctx.node_name, now)
                        )
                        self.lease_renewals += 1
                        return
                self.lease = await api.update("leases", renewed(self.lease, now, self.node))
                self.lease_renewals += 1
                return
            except (Conflict, NotFound, AlreadyExists):
                self.lease = None
        raise Conflict(f"lease {NAMESPACE}/{self.ctx.node_name} kept conflicting")

    async def _node_exists(self) -> bool:
        try:
            self.node = await self.ctx.api.get("nodes", self.ctx.node_name)
            return True
        except NotFound:
            return False

    async def _post(self, ok: bool, message: str) -> None:
        assert self.capacity is not None
        for _ in range(5):
            if self.node is None and not await self._node_exists():
                await self.register()
                return
            node = self.node
            assert node is not None
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
                self.status_written_at = time.monotonic()
                self.status_writes += 1
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
        assert self.capacity is not None
        if self.node is None or self._status_due(ok, message):
            await self._post(ok, message)
        await self.renew_lease()

    def _status_due(self, ok: bool, message: str) -> bool:
        assert self.capacity is not None and self.node is not None
        old = self.node.get("status")
        new = node_status(
            old,
            self.capacity,
            node_name=self.ctx.node_name,
            host_ip=self.ctx.host_ip,
            ready=ok,
            message=message,
            now=now_rfc3339(),
        )
        return status_due(old, new, self.status_written_at, time.monotonic(), self.status_report_interval)

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
