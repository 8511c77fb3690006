"""The replication controller: ReplicationControllers and ReplicaSets, one implementation.

Run one instance per kind (``ReplicationManager(api, informers, RC)`` and ``... RS``); each is a
singleton under leader election. Informers: the owners (by namespace) and pods (by namespace).
Pod events enqueue their controller (or, for orphans, every owner whose selector matches); owner
events enqueue the owner. ``reconcile(key)`` re-reads the caches, asks
:func:`actors.replication.plan.plan`, and writes: adopt/release (CAS updates of the pods), create
(slow-start batches, named ``<owner>-xxxxx``) or delete pods, then the status (CAS; a Conflict
requeues). A ready pod that becomes available only after ``minReadySeconds`` requeues the owner
for that moment.
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from actors.replication.plan import RC, RS, OwnerKind, plan, selector_of
from actors.runtime.cache import split_key
from actors.runtime.shared import SharedInformers
from actors.workload.podutil import meta, name_of, owner_reference
from actors.workload.selector import labels_of, selector_matcher
from actors.workload.workload import NS_INDEX, Obj, WorkloadController, namespace_of

log = structlog.get_logger(__name__)


class ReplicationManager(WorkloadController):
    workers = 2

    def __init__(
        self,
        api: Any,
        informers: SharedInformers,
        kind: OwnerKind = RS,
        *,
        recorder: Any | None = None,
        workers: int | None = None,
        **kw: Any,
    ) -> None:
        self.name = "replicaset-controller" if kind is RS else "replicationcontroller-controller"
        super().__init__(api, recorder=recorder, workers=workers, **kw)
        self.kind = kind
        self.owners = self.track(informers.informer(kind.resource))
        self.pods = self.track(informers.informer("pods"))
        self.watch(self.owners)
        self.watch_owned_pods(self.pods, self.owners, kind.kind, self._owners_matching)

    def _owners_matching(self, pod: Obj) -> list[str]:
        out = []
        for owner in self.owners.by_index(NS_INDEX, namespace_of(pod)):
            if selector_matcher(selector_of(owner))(labels_of(pod)):
                out.append(f"{namespace_of(owner)}/{name_of(owner)}")
        return out

    async def reconcile(self, key: str) -> None:
        owner = self.owners.get(key)
        if owner is None:
            self.expectations.forget(key)
            return
        namespace = split_key(key)[0] or "default"
        pods = self.pods.by_index(NS_INDEX, namespace)
        out = plan(owner, self.kind, pods, self.clock(), needs_sync=self.expectations.satisfied(key))
        by_name = {name_of(p): p for p in pods}
        uid = str(meta(owner).get("uid"))
        ref = owner_reference(owner, self.kind.api_version, self.kind.kind)
        for name in out.adopt:
            await self.set_owner("pods", by_name[name], ref, uid)
        for name in out.release:
            await self.set_owner("pods", by_name[name], None, uid)
        if out.create and out.pod is not None:
            log.info("replicas.creating", owner=key, kind=self.kind.kind, count=out.create)
            await self.create_pods(key, owner, [out.pod] * out.create)
        if out.delete:
            log.info("replicas.deleting", owner=key, kind=self.kind.kind, pods=out.delete)
            await self.delete_pods(key, owner, [by_name[n] for n in out.delete])
        if out.status is not None:
            body = copy.deepcopy(owner)
            body["status"] = out.status
            await self.api.update_status(self.kind.resource, body, namespace=namespace)
        self.requeue_after(key, out.requeue_after)


class ReplicaSetController(ReplicationManager):
    def __init__(self, api: Any, informers: SharedInformers, **kw: Any) -> None:
        super().__init__(api, informers, RS, **kw)


class ReplicationControllerManager(ReplicationManager):
    def __init__(self, api: Any, informers: SharedInformers, **kw: Any) -> None:
        super().__init__(api, informers, RC, **kw)
