"""The garbage collector: cascading deletion, orphaning, terminated and orphaned pod collection.

Informers: one per resource that may be an owner or a dependent (:data:`RESOURCES`), each indexed by
uid and by owner uid, plus nodes. Queue keys are ``<resource>|<ns>/<name>`` (``<resource>|<name>``
for cluster-scoped objects), and one special key, :data:`POD_GC_KEY`, for the periodic pod sweep.

Handlers only enqueue:

- an object added or updated with owner references -> the object (is each owner still there?);
- an object deleted -> every dependent of it (their owner is gone), and the owners it referenced
  when they are being deleted (a foreground owner may now lose its finalizer);
- an owner that gets ``deletionTimestamp`` with the ``orphan`` or ``foregroundDeletion`` finalizer
  -> the owner and its dependents.

``reconcile`` reads the caches and asks :mod:`actors.gc.plan`. An owner the cache does not have is
looked up live before its dependents are deleted, so an informer that lags behind another (a pod
seen before its ReplicaSet) never kills anything. Deletions carry the resourceVersion the decision
was made on, so a recreated object of the same name is never deleted by mistake.

The pod sweep runs every :data:`POD_GC_PERIOD` seconds (Kubernetes' podgc: 20 s): terminated pods
beyond ``--terminated-pod-gc-threshold``, pods bound to nodes that do not exist, terminating pods that
were never scheduled.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.gc.plan import (
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    DeleteObject,
    OwnerState,
    Ref,
    UpdateObject,
    is_terminated,
    owner_state,
    plan_dependent,
    plan_orphaned_pods,
    plan_owner,
    plan_terminated_pods,
)
from actors.runtime.cache import NODE_INDEX, by_node_name, by_owner_uid, key_of, split_key
from actors.runtime.controller import Controller
from actors.runtime.informer import Informer
from actors.runtime.shared import SharedInformers
from schemas.errors import Conflict, NotFound
from schemas.registry import BY_KIND

log = structlog.get_logger(__name__)

POD_GC_INDEX = "podgc"
TERMINATED = "terminated"
UNBOUND_TERMINATING = "unbound-terminating"


def pod_gc_class(pod: dict[str, Any]) -> str | None:
    """Index function: which of the pod sweep's candidate sets a pod is in, if any."""
    meta = pod.get("metadata") or {}
    if is_terminated(pod) and not meta.get("deletionTimestamp"):
        return TERMINATED
    if not (pod.get("spec") or {}).get("nodeName") and meta.get("deletionTimestamp"):
        return UNBOUND_TERMINATING
    return None


RESOURCES = (
    "pods",
    "replicasets",
    "replicationcontrollers",
    "deployments",
    "daemonsets",
    "statefulsets",
    "controllerrevisions",
    "jobs",
    "cronjobs",
    "services",
    "endpoints",
    "configmaps",
    "secrets",
    "persistentvolumeclaims",
)
OWNER_INDEX = "ownerUid"
UID_INDEX = "uid"
POD_GC_KEY = "@podgc"
POD_GC_PERIOD = 20.0


def _uid(obj: dict[str, Any]) -> str | None:
    return (obj.get("metadata") or {}).get("uid") or None


def gc_key(resource: str, obj: dict[str, Any]) -> str:
    return f"{resource}|{key_of(obj)}"


def _deleting_with(obj: dict[str, Any], *finalizers: str) -> bool:
    meta = obj.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and any(
        f in (meta.get("finalizers") or []) for f in finalizers
    )


class GarbageCollector(Controller):
    name = "garbage-collector"
    workers = 2

    def __init__(
        self,
        api: Any,
        informers: SharedInformers,
        *,
        terminated_pod_gc_threshold: int = 12500,
        pod_gc_period: float = POD_GC_PERIOD,
        workers: int | None = None,
    ) -> None:
        super().__init__(workers=workers)
        self.api = api
        self.threshold = terminated_pod_gc_threshold
        self.pod_gc_period = pod_gc_period
        self.by_resource: dict[str, Informer] = {}
        for resource in RESOURCES:
            informer = informers.informer(resource)
            informer.add_index(OWNER_INDEX, by_owner_uid)
            informer.add_index(UID_INDEX, _uid)
            self.by_resource[resource] = informer
            self._wire(resource, informer)
        # the pod sweep reads only its candidates, not every pod (a compact cache decodes each read)
        self.by_resource["pods"].add_index(NODE_INDEX, by_node_name)
        self.by_resource["pods"].add_index(POD_GC_INDEX, pod_gc_class)
        self.nodes = informers.informer("nodes")
        self.informers.append(self.nodes)
        self.queue.add(POD_GC_KEY)

    # -- handlers (enqueue only) ------------------------------------------------------------------

    def _wire(self, resource: str, informer: Informer) -> None:
        def on_add(obj: dict[str, Any]) -> None:
            if (obj.get("metadata") or {}).get("ownerReferences"):
                self.queue.add(gc_key(resource, obj))
            if _deleting_with(obj, ORPHAN_FINALIZER, FOREGROUND_FINALIZER):
                self._enqueue_owner_and_dependents(resource, obj)

        def on_update(old: dict[str, Any], new: dict[str, Any]) -> None:
            on_add(new)
            kept = {r.get("uid") for r in (new.get("metadata") or {}).get("ownerReferences") or []}
            dropped = [
                r
                for r in (old.get("metadata") or {}).get("ownerReferences") or []
                if r.get("uid") not in kept
            ]
            self._enqueue_finalizing_owners(dropped)

        def on_delete(obj: dict[str, Any]) -> None:
            uid = _uid(obj)
            if uid:
                self._enqueue_dependents(uid)
            self._enqueue_finalizing_owners((obj.get("metadata") or {}).get("ownerReferences") or [])

        informer.add_handler(on_add=on_add, on_update=on_update, on_delete=on_delete)
        if informer not in self.informers:
            self.informers.append(informer)

    def _enqueue_finalizing_owners(self, refs: list[dict[str, Any]]) -> None:
        """Owners waiting on their dependents (orphan, foreground) may be done now."""
        for ref in refs:
            for owner_resource, owner in self._cached_by_uid(ref.get("uid", "")):
                if _deleting_with(owner, FOREGROUND_FINALIZER, ORPHAN_FINALIZER):
                    self.queue.add(gc_key(owner_resource, owner))

    def _enqueue_dependents(self, uid: str) -> None:
        for resource, informer in self.by_resource.items():
            for dep in informer.by_index(OWNER_INDEX, uid):
                self.queue.add(gc_key(resource, dep))

    def _enqueue_owner_and_dependents(self, resource: str, obj: dict[str, Any]) -> None:
        self.queue.add(gc_key(resource, obj))
        uid = _uid(obj)
        if uid:
            self._enqueue_dependents(uid)

    def _cached_by_uid(self, uid: str) -> list[tuple[str, dict[str, Any]]]:
        return [(r, o) for r, inf in self.by_resource.items() for o in inf.by_index(UID_INDEX, uid)]

    def _dependents(self, uid: str) -> list[tuple[Ref, dict[str, Any]]]:
        out = []
        for resource, informer in self.by_resource.items():
            for dep in informer.by_index(OWNER_INDEX, uid):
                meta = dep.get("metadata") or {}
                out.append((Ref(resource, meta.get("namespace"), meta.get("name", "")), dep))
        return out

    # -- reconcile --------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        if key == POD_GC_KEY:
            try:
                await self._pod_gc()
            finally:
                self.queue.add_after(POD_GC_KEY, self.pod_gc_period)
            return
        resource, _, obj_key = key.partition("|")
        informer = self.by_resource.get(resource)
        if informer is None:
            return
        obj = informer.get(obj_key)
        if obj is None:
            return
        namespace, name = split_key(obj_key)
        ref = Ref(resource, namespace, name)
        meta = obj.get("metadata") or {}
        if _deleting_with(obj, ORPHAN_FINALIZER, FOREGROUND_FINALIZER):
            await self._execute(plan_owner(ref, obj, self._dependents(meta.get("uid", ""))), obj)
        if meta.get("ownerReferences"):
            states = {
                r.get("uid", ""): await self._owner_state(r, namespace) for r in meta["ownerReferences"]
            }
            has_dependents = bool(self._dependents(meta.get("uid", "")))
            await self._execute(plan_dependent(ref, obj, states, has_dependents), obj)

    async def _owner_state(self, owner_ref: dict[str, Any], namespace: str | None) -> OwnerState:
        info = BY_KIND.get(owner_ref.get("kind", ""))
        uid = owner_ref.get("uid", "")
        if info is None:
            return OwnerState.SOLID  # a kind we do not serve: never collect on its account
        if info.namespaced and namespace is None:
            return OwnerState.SOLID  # invalid reference (cluster-scoped object, namespaced owner)
        owner_ns = namespace if info.namespaced else None
        owner_key = f"{owner_ns}/{owner_ref.get('name', '')}" if owner_ns else owner_ref.get("name", "")
        informer = self.by_resource.get(info.plural)
        cached = informer.get(owner_key) if informer is not None else None
        state = owner_state(cached, uid)
        if state is not OwnerState.ABSENT:
            return state
        try:  # confirm with the api: the cache of the owner's kind may lag behind
            live = await self.api.get(info.plural, owner_ref.get("name", ""), namespace=owner_ns)
        except NotFound:
            return OwnerState.ABSENT
        return owner_state(live, uid)

    async def _execute(self, actions: list[DeleteObject | UpdateObject], obj: dict[str, Any]) -> None:
        for action in actions:
            if isinstance(action, DeleteObject):
                await self._delete(action, obj)
            else:
                await self.api.update(action.ref.resource, action.obj, namespace=action.ref.namespace)
                log.info(
                    "gc.updated",
                    resource=action.ref.resource,
                    namespace=action.ref.namespace,
                    name=action.ref.name,
                )

    async def _delete(self, action: DeleteObject, obj: dict[str, Any] | None) -> None:
        ref = action.ref
        rv = None
        if obj is not None and (obj.get("metadata") or {}).get("uid") == action.uid:
            rv = (obj.get("metadata") or {}).get("resourceVersion")
        try:
            await self.api.delete(
                ref.resource,
                ref.name,
                namespace=ref.namespace,
                grace_period_seconds=action.grace_period_seconds,
                propagation_policy=action.propagation_policy,
                resource_version=rv,
            )
        except NotFound:
            return
        log.info(
            "gc.deleted",
            resource=ref.resource,
            namespace=ref.namespace,
            name=ref.name,
            policy=action.propagation_policy,
        )

    async def _pod_gc(self) -> None:
        pods_informer = self.by_resource["pods"]
        terminated = pods_informer.by_index(POD_GC_INDEX, TERMINATED)
        actions = plan_terminated_pods(terminated, self.threshold)
        missing = [n for n in pods_informer.index_values(NODE_INDEX) if self.nodes.get(n) is None]
        gone: set[str] = set()
        for node in missing:
            try:
                await self.api.get("nodes", node)
            except NotFound:
                gone.add(node)
        candidates = pods_informer.by_index(POD_GC_INDEX, UNBOUND_TERMINATING)
        for node in sorted(gone):
            candidates += pods_informer.by_index(NODE_INDEX, node)
        actions += plan_orphaned_pods(candidates, lambda n: n not in gone)
        for action in actions:
            pod = pods_informer.get(f"{action.ref.namespace}/{action.ref.name}")
            try:
                await self._delete(action, pod)
            except Conflict:
                continue  # changed since: the next sweep decides again
