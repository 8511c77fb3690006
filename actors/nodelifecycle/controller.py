"""The node lifecycle controller: node health from heartbeats, taints, pod readiness, eviction.

Informers: nodes, the nodes' Leases (``kube-node-lease``, renewed by each kubelet every 10 s: the
heartbeat), and pods indexed by ``spec.nodeName``. Keys are node names. A node is enqueued on every
change of it, of its Lease and of its pods; after each reconcile it is queued
again for the moment something will be due (:attr:`NodeDecision.recheck_after`: its heartbeat
becomes stale, a pod's eviction time comes), since a dead kubelet sends no events.

``reconcile`` applies :func:`actors.nodelifecycle.decide.decide` to the node, one write at a time:
after a write it decides again from the object the api returned (status first, then taints), so
every write is a compare-and-set on the revision just written. Then
:func:`~actors.nodelifecycle.decide.decide_pods` marks the node's pods not ready and evicts those
past their toleration: a plain delete (graceful, as Kubernetes' taint manager does) with an event
``TaintManagerEviction`` on the pod. Their controllers create replacements elsewhere at once; the
evicted pods stay Terminating until the node's kubelet comes back or the node is deleted (then the
garbage collector removes them), as in Kubernetes. A deleted Node's Lease is deleted with it
(:func:`~actors.nodelifecycle.decide.orphaned_lease`), which tells its kubelet to register again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from actors.nodelifecycle.decide import (
    EvictPod,
    MarkPodNotReady,
    Settings,
    UpdateNode,
    UpdateNodeStatus,
    decide,
    decide_pods,
    orphaned_lease,
    ready_status,
)
from actors.runtime.cache import NODE_INDEX, by_node_name
from actors.runtime.controller import Controller
from actors.runtime.shared import SharedInformers
from schemas.errors import Conflict, NotFound

log = structlog.get_logger(__name__)
LEASE_NAMESPACE = "kube-node-lease"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class NodeLifecycleController(Controller):
    name = "nodelifecycle-controller"
    workers = 2

    def __init__(
        self,
        api: Any,
        informers: SharedInformers,
        settings: Settings | None = None,
        *,
        recorder: Any | None = None,
        clock: Callable[[], datetime] = _utcnow,
        workers: int | None = None,
    ) -> None:
        super().__init__(workers=workers)
        self.api = api
        self.settings = settings or Settings()
        self.recorder = recorder
        self.clock = clock
        self.nodes = informers.informer("nodes")
        self.leases = informers.informer("leases", LEASE_NAMESPACE)
        self.watch(self.leases, lambda lease: str((lease.get("metadata") or {}).get("name") or ""))
        self.pods = informers.informer("pods")
        self.pods.add_index(NODE_INDEX, by_node_name)
        self.watch(self.nodes)
        self.watch(self.pods, by_node_name)

    async def reconcile(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None:
            await self._drop_lease(key)
            return
        recheck: list[float] = []
        for _ in range(3):  # status, then taints: each write decided on the object just written
            decision = decide(node, self.clock(), self.settings, self.leases.get(f"{LEASE_NAMESPACE}/{key}"))
            if decision.recheck_after is not None:
                recheck.append(decision.recheck_after)
            if not decision.actions:
                break
            action = decision.actions[0]
            if isinstance(action, UpdateNodeStatus):
                node = await self.api.update_status("nodes", action.node)
                log.warning("node.status_unknown_or_restored", node=key)
            elif isinstance(action, UpdateNode):
                node = await self.api.update("nodes", action.node)
                log.info("node.taints", node=key, taints=(node.get("spec") or {}).get("taints"))
        # a Ready node's pods need nothing (decide_pods says so first): do not decode them
        pods = self.pods.by_index(NODE_INDEX, key) if ready_status(node) != "True" else []
        pod_decision = decide_pods(node, pods, self.clock(), self.settings)
        for pod_action in pod_decision.actions:
            if isinstance(pod_action, MarkPodNotReady):
                try:
                    await self.api.update_status("pods", pod_action.pod)
                except NotFound:
                    pass
            elif isinstance(pod_action, EvictPod):
                await self._evict(key, pod_action)
        if pod_decision.recheck_after is not None:
            recheck.append(pod_decision.recheck_after)
        if recheck:
            self.queue.add_after(key, min(recheck))

    async def _drop_lease(self, key: str) -> None:
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{key}")
        if not orphaned_lease(key, None, lease):
            return
        try:
            await self.api.get("nodes", key)
            return  # the Node exists: the node informer lags behind the Lease informer
        except NotFound:
            pass
        rv = (lease or {}).get("metadata", {}).get("resourceVersion")
        try:
            await self.api.delete("leases", key, namespace=LEASE_NAMESPACE, resource_version=rv)
        except (NotFound, Conflict):
            return  # gone, or renewed meanwhile: that renewal queues the key again
        log.info("node.lease_deleted_with_node", node=key)

    async def _evict(self, node: str, action: EvictPod) -> None:
        pod = self.pods.get(f"{action.namespace}/{action.name}")
        rv = (pod or {}).get("metadata", {}).get("resourceVersion") if pod else None
        try:
            await self.api.delete("pods", action.name, namespace=action.namespace, resource_version=rv)
        except NotFound:
            return
        log.warning("pod.evicted", pod=f"{action.namespace}/{action.name}", node=node)
        if self.recorder is not None and pod is not None:
            await self.recorder.record(
                {**pod, "kind": "Pod"},
                "Normal",
                "TaintManagerEviction",
                f"Marking for deletion Pod {action.namespace}/{action.name}",
            )
