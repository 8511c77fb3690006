"""The node IPAM controller: every Node without ``spec.podCIDR`` gets a free subnet of the pool.

Informers: nodes (keys are node names) and pods (read only when allocating: their IPs hold the
subnets of deleted Nodes, pool.py). ``reconcile(node)`` does nothing for a Node that has a subnet: a
kubelet's registration and status writes never touch ``spec`` (they patch labels and write the
status subresource), so a restarted kubelet keeps its subnet. For a Node without one it picks
:func:`~actors.nodeipam.pool.first_free` and writes the Node back compare-and-set on the revision it
read (a Conflict re-queues the key with back-off and it decides again from the fresh object).

One worker, and the subnets written but not yet seen in the informer are remembered
(``pending``), so two Nodes joining together never get the same subnet. Leader change: the next
leader computes the taken subnets from the store again; nothing else to recover. Pool exhausted:
a ``CIDRNotAvailable`` event on the Node and another try in 10 s.

It also publishes the pool (clusterconfig.py): the ConfigMap ``kube-system/jetkube-cluster-config``
says ``clusterCIDR`` and ``nodeCIDRMaskSize``, so kubelets need no ``--cluster-cidr`` of their own.
Its queue key is :data:`CONFIG_KEY` (no Node name holds a ``|``), queued when the controller starts
and on every change of that ConfigMap: an edit or a delete is undone.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.nodeipam import clusterconfig
from actors.nodeipam.pool import Pool, first_free, node_cidrs, occupied, with_cidr
from actors.runtime.controller import Controller
from actors.runtime.shared import SharedInformers
from schemas.errors import AlreadyExists, NotFound

log = structlog.get_logger(__name__)

RETRY_EXHAUSTED = 10.0
CONFIG_KEY = f"configmap|{clusterconfig.NAMESPACE}/{clusterconfig.NAME}"


def _config_key(cm: dict[str, Any]) -> str | None:
    return CONFIG_KEY if (cm.get("metadata") or {}).get("name") == clusterconfig.NAME else None


class NodeIpamController(Controller):
    name = "nodeipam-controller"
    workers = 1

    def __init__(
        self, api: Any, informers: SharedInformers, pool: Pool, *, recorder: Any | None = None
    ) -> None:
        super().__init__()
        self.api = api
        self.pool = pool
        self.recorder = recorder
        self.nodes = self.watch(informers.informer("nodes"))
        self.pods = informers.informer("pods")
        self.informers.append(self.pods)
        self.pending: dict[str, str] = {}  # node -> subnet written, until the informer shows it
        self.configmaps = self.watch(informers.informer("configmaps", clusterconfig.NAMESPACE), _config_key)
        self.queue.add(CONFIG_KEY)

    def _taken(self) -> set[int]:
        nodes = self.nodes.list()
        live = {n["metadata"]["name"]: n for n in nodes}
        for name in list(self.pending):
            seen = live.get(name)
            if seen is None or node_cidrs(seen):
                del self.pending[name]
        pending = [{"spec": {"podCIDR": c}} for c in self.pending.values()]
        return occupied(self.pool, [*nodes, *pending], self.pods.list())

    async def publish_config(self) -> None:
        """The ConfigMap saying the pool, created or put right (compare-and-set: a Conflict retries)."""
        current = self.configmaps.get(f"{clusterconfig.NAMESPACE}/{clusterconfig.NAME}")
        step = clusterconfig.publish(current, self.pool)
        if step is None:
            return
        verb, cm = step
        if verb == "create":
            try:
                await self.api.create("configmaps", cm, namespace=clusterconfig.NAMESPACE)
            except AlreadyExists:
                return  # the informer shows it soon, and its change queues the key again
        else:
            await self.api.update("configmaps", cm, namespace=clusterconfig.NAMESPACE)
        log.info("nodeipam.published", configmap=CONFIG_KEY.partition("|")[2], data=cm["data"])

    async def reconcile(self, key: str) -> None:
        if key == CONFIG_KEY:
            await self.publish_config()
            return
        node = self.nodes.get(key)
        if node is None:
            self.pending.pop(key, None)
            return
        if node_cidrs(node) or key in self.pending:
            return
        subnet = first_free(self.pool, self._taken())
        if subnet is None:
            log.warning("nodeipam.exhausted", node=key, pool=str(self.pool.network))
            if self.recorder is not None:
                await self.recorder.record(
                    {**node, "kind": "Node"},
                    "Normal",
                    "CIDRNotAvailable",
                    f"Node {key} status is now: CIDRNotAvailable",
                )
            self.queue.add_after(key, RETRY_EXHAUSTED)
            return
        try:
            await self.api.update("nodes", with_cidr(node, str(subnet)))
        except NotFound:
            return
        self.pending[key] = str(subnet)
        log.info("nodeipam.allocated", node=key, pod_cidr=str(subnet))
