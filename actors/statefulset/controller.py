"""The StatefulSet controller.

Informers: statefulsets, pods and persistentvolumeclaims (by namespace). Pod events enqueue their
StatefulSet (with expectations, as the other workload controllers). ``reconcile(key)`` runs
:func:`actors.statefulset.plan.plan` and writes: adopt/release, the missing claims (before the
pods that mount them), the pods (named, in ordinal order), the deletions, then the status; the
template's ControllerRevision first (actors/workload/revisions.py).
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from actors.runtime.cache import key_of, split_key
from actors.runtime.shared import SharedInformers
from actors.statefulset.plan import REVISION_LABEL, plan, update_revision
from actors.workload.ownership import is_controlled_by
from actors.workload.podutil import meta, name_of, owner_reference
from actors.workload.revisions import sync_revisions
from actors.workload.selector import labels_of, selector_matcher
from actors.workload.workload import NS_INDEX, Obj, WorkloadController, namespace_of
from schemas.errors import AlreadyExists

log = structlog.get_logger(__name__)


class StatefulSetController(WorkloadController):
    name = "statefulset-controller"
    workers = 2

    def __init__(self, api: Any, informers: SharedInformers, **kw: Any) -> None:
        super().__init__(api, **kw)
        self.sets = self.track(informers.informer("statefulsets"))
        self.pods = self.track(informers.informer("pods"))
        self.claims = self.track(informers.informer("persistentvolumeclaims"))
        self.revisions = self.track(informers.informer("controllerrevisions"))
        self.watch(self.sets)
        self.watch_owned_pods(self.pods, self.sets, "StatefulSet", self._owners_matching)

    def _owners_matching(self, pod: Obj) -> list[str]:
        return [
            key_of(s)
            for s in self.sets.by_index(NS_INDEX, namespace_of(pod))
            if selector_matcher((s.get("spec") or {}).get("selector"))(labels_of(pod))
        ]

    async def reconcile(self, key: str) -> None:
        sts = self.sets.get(key)
        if sts is None:
            self.expectations.forget(key)
            return
        if not self.expectations.satisfied(key):
            return  # the informer has not seen our last writes yet; their events requeue the key
        namespace = split_key(key)[0] or "default"
        pods = self.pods.by_index(NS_INDEX, namespace)
        out = plan(sts, pods, self.claims.by_index(NS_INDEX, namespace))
        by_name = {name_of(p): p for p in pods}
        uid = str(meta(sts).get("uid"))
        ref = owner_reference(sts, "apps/v1", "StatefulSet")
        for name in out.adopt:
            await self.set_owner("pods", by_name[name], ref, uid)
        for name in out.release:
            await self.set_owner("pods", by_name[name], None, uid)
        if not meta(sts).get("deletionTimestamp"):  # the template's ControllerRevision, before its pods
            in_use = {h for p in pods if is_controlled_by(p, uid) and (h := labels_of(p).get(REVISION_LABEL))}
            revisions = self.revisions.by_index(NS_INDEX, namespace)
            await sync_revisions(self.api, sts, "StatefulSet", revisions, update_revision(sts), in_use)
        for claim_name, refs in out.claim_owners.items():
            claim = self.claims.get(f"{namespace}/{claim_name}")
            if claim is not None:
                body = copy.deepcopy(claim)
                body["metadata"]["ownerReferences"] = refs
                await self.api.update("persistentvolumeclaims", body, namespace=namespace)
        for claim in out.create_claims:
            try:
                await self.api.create("persistentvolumeclaims", claim, namespace=namespace)
            except AlreadyExists:
                continue
            await self.record(
                sts,
                "Normal",
                "SuccessfulCreate",
                f"create Claim {name_of(claim)} Pod {_pod_of_claim(sts, name_of(claim))} in StatefulSet "
                f"{name_of(sts)} success",
            )
        if out.delete_pods:
            log.info("statefulset.deleting", statefulset=key, pods=out.delete_pods)
            await self.delete_pods(key, sts, [by_name[n] for n in out.delete_pods])
        if out.create_pods:
            log.info("statefulset.creating", statefulset=key, pods=[name_of(p) for p in out.create_pods])
            await self.create_pods(key, sts, out.create_pods)
        if out.status is not None and out.status != {
            k: v for k, v in (sts.get("status") or {}).items() if k in out.status
        }:
            body = copy.deepcopy(sts)
            body["status"] = {**(sts.get("status") or {}), **out.status}
            await self.api.update_status("statefulsets", body, namespace=namespace)
        self.requeue_after(key, out.requeue_after)


def _pod_of_claim(sts: Obj, claim_name: str) -> str:
    for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
        prefix = f"{(t.get('metadata') or {}).get('name')}-"
        if claim_name.startswith(prefix):
            return claim_name[len(prefix) :]
    return claim_name
