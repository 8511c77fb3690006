"""The deployment controller: Deployments -> ReplicaSets, rollouts, history, conditions.

Informers: deployments, replicasets, pods (all by namespace). A ReplicaSet event enqueues its
controlling Deployment (or, for an orphan, every Deployment whose selector matches it); a pod event
enqueues the Deployment of its ReplicaSet only when the pod is deleted (Recreate waits for old pods
to be gone). ``reconcile(key)`` runs :func:`actors.deployment.plan.plan` on the caches and writes,
in order: adopt/release, create the new ReplicaSet, update existing ones (replicas, annotations,
minReadySeconds; compare-and-set), delete old ones (history limit), the Deployment's revision
annotation, then its status. A Conflict requeues the key; the next sync starts from fresh state.
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from actors.deployment import util as du
from actors.deployment.plan import plan
from actors.runtime.cache import split_key
from actors.runtime.shared import SharedInformers
from actors.workload.hashing import equal_ignore_hash
from actors.workload.ownership import controller_ref
from actors.workload.podutil import meta, name_of, owner_reference
from actors.workload.selector import labels_of, selector_matcher
from actors.workload.workload import NS_INDEX, Obj, WorkloadController, namespace_of
from schemas.errors import AlreadyExists, Conflict, NotFound

log = structlog.get_logger(__name__)


class DeploymentController(WorkloadController):
    name = "deployment-controller"
    workers = 2

    def __init__(self, api: Any, informers: SharedInformers, **kw: Any) -> None:
        super().__init__(api, **kw)
        self.deployments = self.track(informers.informer("deployments"))
        self.replicasets = self.track(informers.informer("replicasets"))
        self.pods = self.track(informers.informer("pods"))
        self.watch(self.deployments)
        self.watch(self.replicasets, self._deployments_of_rs)
        self.pods.add_handler(on_delete=self._on_pod_delete)

    def _deployments_of_rs(self, rs: Obj) -> list[str]:
        ref = controller_ref(rs)
        ns = namespace_of(rs)
        if ref is not None:
            return [f"{ns}/{ref.get('name')}"] if ref.get("kind") == "Deployment" else []
        return [
            f"{ns}/{name_of(d)}"
            for d in self.deployments.by_index(NS_INDEX, ns)
            if selector_matcher(du.selector_of(d))(labels_of(rs))
        ]

    def _on_pod_delete(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.get(f"{namespace_of(pod)}/{ref.get('name')}")
        if rs is not None:
            for key in self._deployments_of_rs(rs):
                self.queue.add(key)

    async def reconcile(self, key: str) -> None:
        deploy = self.deployments.get(key)
        if deploy is None:
            return
        namespace = split_key(key)[0] or "default"
        rses = self.replicasets.by_index(NS_INDEX, namespace)
        pods = self.pods.by_index(NS_INDEX, namespace)
        out = plan(deploy, rses, pods, self.clock())
        by_name = {name_of(rs): rs for rs in rses}
        uid = str(meta(deploy).get("uid"))
        ref = owner_reference(deploy, "apps/v1", "Deployment")
        for name in out.adopt:
            await self.set_owner("replicasets", by_name[name], ref, uid)
        for name in out.release:
            await self.set_owner("replicasets", by_name[name], None, uid)
        if out.create is not None:
            await self._create_rs(deploy, out.create)
        for change in out.updates:
            body = copy.deepcopy(by_name[change.name])
            if change.replicas is not None:
                body["spec"]["replicas"] = change.replicas
            if change.min_ready_seconds is not None:
                body["spec"]["minReadySeconds"] = change.min_ready_seconds
            body["metadata"].setdefault("annotations", {}).update(change.annotations)
            await self.api.update("replicasets", body, namespace=namespace)
        for name in out.delete:
            try:
                await self.api.delete(
                    "replicasets", name, namespace=namespace, propagation_policy="Background"
                )
            except NotFound:
                pass
        for event in out.events:
            await self.record(deploy, event.type, event.reason, event.message)
        current = deploy
        if out.annotations:
            body = copy.deepcopy(deploy)
            body["metadata"].setdefault("annotations", {}).update(out.annotations)
            current = await self.api.update("deployments", body, namespace=namespace)
        if out.status is not None:
            body = copy.deepcopy(current)
            body["status"] = out.status
            await self.api.update_status("deployments", body, namespace=namespace)
        self.requeue_after(key, out.requeue_after)

    async def _create_rs(self, deploy: Obj, rs: Obj) -> None:
        namespace = namespace_of(deploy)
        try:
            await self.api.create("replicasets", rs, namespace=namespace)
            log.info("deployment.rs_created", deployment=name_of(deploy), replicaset=name_of(rs))
            return
        except AlreadyExists:
            existing = await self.api.get("replicasets", name_of(rs), namespace=namespace)
        ref = controller_ref(existing)
        ours = ref is not None and ref.get("uid") == meta(deploy).get("uid")
        same = equal_ignore_hash((existing.get("spec") or {}).get("template") or {}, rs["spec"]["template"])
        if ours and same:
            raise Conflict(f'replicaset "{name_of(rs)}" exists; waiting for the cache')
        # a hash collision: another template under our name. Bump collisionCount, rehash next sync.
        body = copy.deepcopy(deploy)
        status = body.setdefault("status", {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self.api.update_status("deployments", body, namespace=namespace)
        raise Conflict(f'replicaset "{name_of(rs)}" collides; collisionCount raised')
