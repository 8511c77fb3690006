"""The DaemonSet controller: one pod per eligible node.

Informers: daemonsets, nodes, pods (by namespace). Pod events enqueue their DaemonSet (with
expectations, as the replication controller); any node add, delete or change of labels, taints or
readiness enqueues every DaemonSet (a cluster has few). ``reconcile(key)`` runs
:func:`actors.daemonset.plan.plan` and writes: adopt/release, delete pods, create a pod per node
(``spec.nodeName`` set, see the plan's docstring for why), then the status. The template's
ControllerRevision is written before the pods (actors/workload/revisions.py).
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from actors.daemonset.plan import REVISION_HASH, current_hash, plan
from actors.runtime.cache import key_of, split_key
from actors.runtime.shared import SharedInformers
from actors.workload.ownership import is_controlled_by
from actors.workload.podutil import meta, name_of, owner_reference
from actors.workload.revisions import sync_revisions
from actors.workload.selector import labels_of, selector_matcher
from actors.workload.workload import NS_INDEX, Obj, WorkloadController, namespace_of

log = structlog.get_logger(__name__)


class DaemonSetController(WorkloadController):
    name = "daemonset-controller"
    workers = 2

    def __init__(self, api: Any, informers: SharedInformers, **kw: Any) -> None:
        super().__init__(api, **kw)
        self.daemonsets = self.track(informers.informer("daemonsets"))
        self.nodes = informers.informer("nodes")
        self.pods = self.track(informers.informer("pods"))
        self.revisions = self.track(informers.informer("controllerrevisions"))
        self.watch(self.daemonsets)
        self.informers.append(self.nodes)
        self.nodes.add_handler(
            on_add=lambda _n: self._all(),
            on_update=self._node_changed,
            on_delete=lambda _n: self._all(),
        )
        self.watch_owned_pods(self.pods, self.daemonsets, "DaemonSet", self._owners_matching)

    def _all(self) -> None:
        for key in self.daemonsets.keys():
            self.queue.add(key)

    def _node_changed(self, old: Obj, new: Obj) -> None:
        if meta(old).get("labels") != meta(new).get("labels") or (old.get("spec") or {}).get("taints") != (
            new.get("spec") or {}
        ).get("taints"):
            self._all()

    def _owners_matching(self, pod: Obj) -> list[str]:
        return [
            key_of(ds)
            for ds in self.daemonsets.by_index(NS_INDEX, namespace_of(pod))
            if selector_matcher((ds.get("spec") or {}).get("selector"))(labels_of(pod))
        ]

    async def reconcile(self, key: str) -> None:
        ds = self.daemonsets.get(key)
        if ds is None:
            self.expectations.forget(key)
            return
        namespace = split_key(key)[0] or "default"
        pods = self.pods.by_index(NS_INDEX, namespace)
        out = plan(ds, self.nodes.list(), pods, self.clock(), needs_sync=self.expectations.satisfied(key))
        by_name = {name_of(p): p for p in pods}
        uid = str(meta(ds).get("uid"))
        ref = owner_reference(ds, "apps/v1", "DaemonSet")
        for name in out.adopt:
            await self.set_owner("pods", by_name[name], ref, uid)
        for name in out.release:
            await self.set_owner("pods", by_name[name], None, uid)
        if not meta(ds).get("deletionTimestamp"):  # the template's ControllerRevision, before its pods
            in_use = {h for p in pods if is_controlled_by(p, uid) and (h := labels_of(p).get(REVISION_HASH))}
            revisions = self.revisions.by_index(NS_INDEX, namespace)
            await sync_revisions(self.api, ds, "DaemonSet", revisions, current_hash(ds), in_use)
        if out.delete:
            log.info("daemonset.deleting", daemonset=key, pods=out.delete)
            await self.delete_pods(key, ds, [by_name[n] for n in out.delete])
        if out.create and out.pod is not None:
            log.info("daemonset.creating", daemonset=key, nodes=out.create)
            pods_to_create = []
            for node in out.create:
                pod = copy.deepcopy(out.pod)
                pod["spec"]["nodeName"] = node
                pods_to_create.append(pod)
            await self.create_pods(key, ds, pods_to_create)
        if out.status is not None:
            body = copy.deepcopy(ds)
            body["status"] = out.status
            await self.api.update_status("daemonsets", body, namespace=namespace)
        self.requeue_after(key, out.requeue_after)
