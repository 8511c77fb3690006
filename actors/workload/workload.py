"""What every pod-owning controller does with I/O, shared by replication, daemonset and job.

- **Pod handlers with expectations** (:meth:`WorkloadController.watch_owned_pods`): a pod event is
  mapped to its controller's key (the ownerReference of this kind whose uid matches the cached
  owner) or, for an orphan, to every owner whose selector matches it (so it can be adopted). Adds
  lower the owner's expected creations; deletions, and a pod gaining a ``deletionTimestamp``,
  lower its expected deletions (see :mod:`actors.workload.expectations`).
- **Slow-start creation** (:meth:`create_pods`): batches of 1, 2, 4, ... sent concurrently; the
  first batch with an error stops the rest, so a quota or admission refusal costs one request, not
  hundreds (client-go's ``slowStartBatch``). Pods are named here from their ``generateName``.
  A create without a reply (time-out, api unreachable) is resolved by observation: the pod's
  name was chosen here, so the controller reads it back; found and owned, it counts as created
  and its expectation stays until the informer sees it, otherwise the create failed.
- **Deletion, adoption and release** through the api client; adoption and release are
  compare-and-set updates of the pod's ownerReferences, so a pod changed meanwhile is re-read.
- **Events** through an optional ``bus.events.EventRecorder`` (never fatal).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from actors.runtime.cache import by_namespace, key_of
from actors.runtime.controller import Controller
from actors.runtime.informer import Informer
from actors.workload.expectations import Expectations
from actors.workload.ownership import controller_ref
from actors.workload.podutil import generate_name, meta, name_of
from actors.workload.timeutil import utcnow
from schemas.errors import AlreadyExists, JetkubeError, NotFound, ServiceUnavailable, Timeout

log = structlog.get_logger(__name__)

OBSERVE_WAITS = (0.0, 0.5, 1.0)  # a create without a reply: look for its pod now, then twice more

NS_INDEX = "namespace"
Obj = dict[str, Any]


def namespace_of(obj: Obj) -> str:
    return str(meta(obj).get("namespace") or "default")


class WorkloadController(Controller):
    """A Controller that owns pods: expectations, batched creates, events."""

    def __init__(
        self,
        api: Any,
        *,
        recorder: Any | None = None,
        workers: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(workers=workers)
        self.api = api
        self.recorder = recorder
        self.clock = clock
        self.expectations = Expectations()

    # -- informers ---------------------------------------------------------------------------

    def track(self, informer: Informer) -> Informer:
        """Index ``informer`` by namespace and make the controller wait for its sync."""
        informer.add_index(NS_INDEX, by_namespace)
        if informer not in self.informers:
            self.informers.append(informer)
        return informer

    def watch_owned_pods(
        self,
        pods: Informer,
        owners: Informer,
        kind: str,
        orphan_owners: Callable[[Obj], list[str]],
        on_pod_change: Callable[[Obj, Obj], None] | None = None,
    ) -> None:
        """Enqueue owners of ``kind`` on pod events, keeping the expectations (see module doc)."""

        def owner_key(pod: Obj) -> str | None:
            ref = controller_ref(pod)
            if ref is None or ref.get("kind") != kind:
                return None
            key = f"{namespace_of(pod)}/{ref.get('name')}"
            owner = owners.get(key)
            if owner is None or meta(owner).get("uid") != ref.get("uid"):
                return None
            return key

        def on_delete(pod: Obj) -> None:
            key = owner_key(pod)
            if key is not None:
                self.expectations.deletion_observed(key, meta(pod).get("uid"))
                self.queue.add(key)

        def on_add(pod: Obj) -> None:
            if meta(pod).get("deletionTimestamp"):
                on_delete(pod)
                return
            key = owner_key(pod)
            if key is not None:
                self.expectations.creation_observed(key)
                self.queue.add(key)
                return
            for k in orphan_owners(pod):
                self.queue.add(k)

        def on_update(old: Obj, new: Obj) -> None:
            if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
                return
            new_key = owner_key(new)
            if meta(new).get("deletionTimestamp") and not meta(old).get("deletionTimestamp"):
                on_delete(new)
            old_key = owner_key(old)
            if old_key is not None and old_key != new_key:
                self.queue.add(old_key)
            if new_key is not None:
                self.queue.add(new_key)
                if on_pod_change is not None:
                    on_pod_change(old, new)
            elif meta(old).get("labels") != meta(new).get("labels") or controller_ref(old) != controller_ref(
                new
            ):
                for k in orphan_owners(new):
                    self.queue.add(k)

        pods.add_handler(on_add=on_add, on_update=on_update, on_delete=on_delete)
        if pods not in self.informers:
            self.informers.append(pods)

    # -- events ------------------------------------------------------------------------------

    async def record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        if self.recorder is None:
            return
        try:
            await self.recorder.record(obj, type_, reason, message)
        except Exception as exc:  # an event lost is not a reason to fail a sync
            log.warning("event.failed", reason=reason, exc_info=exc)

    # -- writes ------------------------------------------------------------------------------

    async def create_pods(self, key: str, owner: Obj, pods: list[Obj]) -> int:
        """Create ``pods`` in slow-start batches; returns how many were created, raises the first error."""
        if not pods:
            return 0
        self.expectations.expect_creations(key, len(pods))
        created = 0
        batch = 1
        remaining = list(pods)
        while remaining:
            chunk, remaining = remaining[:batch], remaining[batch:]
            results = await asyncio.gather(
                *(self._create_one(owner, p) for p in chunk), return_exceptions=True
            )
            errors = [r for r in results if isinstance(r, BaseException)]
            created += len(chunk) - len(errors)
            for _ in errors:
                self.expectations.creation_observed(key)
            if errors:
                for _ in remaining:  # never sent
                    self.expectations.creation_observed(key)
                err = errors[0]
                message = err.message if isinstance(err, JetkubeError) else str(err)
                await self.record(owner, "Warning", "FailedCreate", f"Error creating: {message}")
                raise err
            batch *= 2
        return created

    async def _create_one(self, owner: Obj, pod: Obj) -> Obj:
        namespace = namespace_of(pod)
        for attempt in range(3):
            body = copy.deepcopy(pod)
            if not meta(body).get("name"):
                body["metadata"]["name"] = generate_name(str(meta(pod).get("generateName") or "pod-"))
            try:
                created = await self.api.create("pods", body, namespace=namespace)
            except AlreadyExists:
                if meta(pod).get("name") or attempt == 2:
                    raise
                continue
            except (Timeout, ServiceUnavailable):
                # No reply: the create may have landed. Look, rather than assume it failed (which
                # would lower the expectations and let the next sync create a second pod).
                landed = await self._landed(owner, body, namespace)
                if landed is None:
                    raise
                created = landed
            await self.record(owner, "Normal", "SuccessfulCreate", f"Created pod: {name_of(created)}")
            return created
        raise AssertionError("unreachable")

    async def _landed(self, owner: Obj, body: Obj, namespace: str) -> Obj | None:
        """The pod a create without a reply asked for, if it exists and is this owner's (its name
        was chosen here, so nobody else made it); None when it is not there or cannot be read."""
        name = name_of(body)
        for wait in OBSERVE_WAITS:
            await asyncio.sleep(wait)
            try:
                found: Obj = await self.api.get("pods", name, namespace=namespace)
            except NotFound:
                continue
            except JetkubeError:
                return None
            owners = meta(found).get("ownerReferences") or []
            if any(ref.get("uid") == meta(owner).get("uid") for ref in owners):
                log.info("workload.create_observed", pod=name, owner=name_of(owner))
                return found
            return None
        return None

    async def delete_pods(self, key: str, owner: Obj, pods: list[Obj]) -> None:
        """Delete ``pods`` concurrently; a pod already gone counts as deleted."""
        if not pods:
            return
        self.expectations.expect_deletions(key, [str(meta(p).get("uid")) for p in pods])

        async def one(pod: Obj) -> None:
            try:
                await self.api.delete("pods", name_of(pod), namespace=namespace_of(pod))
            except NotFound:
                self.expectations.deletion_observed(key, meta(pod).get("uid"))
                return
            except Exception:
                self.expectations.deletion_observed(key, meta(pod).get("uid"))
                raise
            await self.record(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {name_of(pod)}")

        results = await asyncio.gather(*(one(p) for p in pods), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            err = errors[0]
            message = err.message if isinstance(err, JetkubeError) else str(err)
            await self.record(owner, "Warning", "FailedDelete", f"Error deleting: {message}")
            raise err

    async def set_owner(self, resource: str, obj: Obj, owner_ref: Obj | None, owner_uid: str) -> None:
        """Adopt (``owner_ref`` given) or release ``obj`` with a compare-and-set update."""
        body = copy.deepcopy(obj)
        refs = [r for r in meta(body).get("ownerReferences") or [] if r.get("uid") != owner_uid]
        if owner_ref is not None:
            refs.append(dict(owner_ref))
        body["metadata"]["ownerReferences"] = refs
        try:
            await self.api.update(resource, body, namespace=namespace_of(obj))
        except NotFound:
            return
        log.info("owner.adopted" if owner_ref else "owner.released", object=key_of(obj), resource=resource)

    def requeue_after(self, key: str, delay: float | None) -> None:
        if delay is not None:
            self.queue.add_after(key, max(delay, 0.0))
