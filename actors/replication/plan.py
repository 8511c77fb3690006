"""Pure decisions of the replication controller (ReplicationController and ReplicaSet).

``plan(owner, kind, pods, now)`` takes the owner, every pod of its namespace (from the cache) and the
time, and returns what to do, as Kubernetes' ``ReplicaSetController.syncReplicaSet``:

1. claim: keep the pods it controls whose labels match the selector, release those that stopped
   matching, adopt matching orphans;
2. manage: of the claimed pods, the active ones (not Succeeded/Failed, no deletionTimestamp) are
   compared with ``spec.replicas``; missing pods are created from the template (at most
   ``burst`` per sync), surplus pods deleted in Kubernetes' order (:func:`pods_to_delete`).
   Failed and Succeeded pods do not count, so they get replaced (they are left for the pod GC);
   terminating pods do not count either, and the caller's expectations (``needs_sync``) keep a
   reconcile that runs before the informer saw earlier creates/deletes from acting twice;
3. status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready for
   ``minReadySeconds``), observedGeneration; None when unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actors.workload.ownership import claim
from actors.workload.podutil import (
    available_in,
    is_active,
    is_available,
    is_ready,
    meta,
    name_of,
    owner_reference,
    pod_from_template,
    pods_to_delete,
)
from actors.workload.selector import labels_of, selector_matcher

BURST_REPLICAS = 500


@dataclass(frozen=True)
class OwnerKind:
    api_version: str
    kind: str
    resource: str


RC = OwnerKind("v1", "ReplicationController", "replicationcontrollers")
RS = OwnerKind("apps/v1", "ReplicaSet", "replicasets")


@dataclass
class ReplicaPlan:
    adopt: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)
    create: int = 0
    pod: dict[str, Any] | None = None  # the pod to create ``create`` times (named at creation)
    delete: list[str] = field(default_factory=list)
    status: dict[str, Any] | None = None  # the new status, None when unchanged
    requeue_after: float | None = None


def selector_of(owner: dict[str, Any]) -> dict[str, Any]:
    """The owner's selector; an RC without one selects its template's labels (RC defaulting)."""
    spec = owner.get("spec") or {}
    selector = spec.get("selector")
    if not selector:
        return dict(((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})
    return selector


def desired_replicas(owner: dict[str, Any]) -> int:
    replicas = (owner.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def compute_status(
    owner: dict[str, Any], active: list[dict[str, Any]], now: datetime
) -> tuple[dict[str, Any], float | None]:
    """The status the owner should have for its active pods, and when availability next changes."""
    spec = owner.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    fully = sum(1 for p in active if all(labels_of(p).get(k) == v for k, v in template_labels.items()))
    ready = [p for p in active if is_ready(p)]
    available = sum(1 for p in ready if is_available(p, min_ready, now))
    waits = [w for p in ready if (w := available_in(p, min_ready, now)) is not None]
    status = dict(owner.get("status") or {})
    status.update(
        {
            "replicas": len(active),
            "fullyLabeledReplicas": fully,
            "readyReplicas": len(ready),
            "availableReplicas": available,
            "observedGeneration": int(meta(owner).get("generation") or 0),
        }
    )
    return status, (min(waits) if waits else None)


def status_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    old = old or {}
    return any(old.get(k, 0) != v for k, v in new.items() if k != "conditions")


def plan(
    owner: dict[str, Any],
    kind: OwnerKind,
    pods: list[dict[str, Any]],
    now: datetime,
    *,
    needs_sync: bool = True,
    burst: int = BURST_REPLICAS,
) -> ReplicaPlan:
    """What to do for one RC/RS given the pods of its namespace. See the module docstring."""
    out = ReplicaPlan()
    owner_meta = meta(owner)
    matcher = selector_matcher(selector_of(owner))
    claimed = claim(owner, pods, lambda p: matcher(labels_of(p)))
    out.adopt = [name_of(p) for p in claimed.adopt]
    out.release = [name_of(p) for p in claimed.release]
    active = [p for p in claimed.owned if is_active(p)]

    if needs_sync and not owner_meta.get("deletionTimestamp"):
        diff = len(active) - desired_replicas(owner)
        if diff < 0:
            out.create = min(-diff, burst)
            name = str(owner_meta.get("name"))
            out.pod = pod_from_template(
                (owner.get("spec") or {}).get("template") or {},
                namespace=str(owner_meta.get("namespace") or "default"),
                generate_prefix=f"{name}-",
                owner_ref=owner_reference(owner, kind.api_version, kind.kind),
            )
        elif diff > 0:
            out.delete = [name_of(p) for p in pods_to_delete(active, min(diff, burst))]

    status, wait = compute_status(owner, active, now)
    if status_changed(owner.get("status"), status):
        out.status = status
    out.requeue_after = wait
    return out
