"""Pure decisions of the garbage collector: cascading deletion through ``ownerReferences``.

The api actor turns ``delete --cascade=...`` (``propagationPolicy``) into state the collector reads:

- ``Background`` (the default for most kinds): the owner is removed at once; its dependents now
  point at an owner that does not exist (no object with that uid) and are deleted here;
- ``Foreground``: the owner stays, with ``deletionTimestamp`` and the ``foregroundDeletion``
  finalizer. The collector deletes its dependents; once no dependent with
  ``blockOwnerDeletion: true`` is left in the store it removes the finalizer, and the api removes
  the owner;
- ``Orphan``: the owner stays with the ``orphan`` finalizer; the collector removes the owner's
  reference from every dependent, then the finalizer.

As Kubernetes' ``attemptToDeleteItem``, each owner reference of a dependent is classified:

- ``ABSENT`` (dangling): no object of that kind and name with that uid. The controller confirms it
  with a live read before it reports ABSENT, so that a lagging cache never kills a dependent;
- ``WAITING``: the owner exists, is being deleted and has the ``foregroundDeletion`` finalizer;
- ``SOLID``: any other existing owner (an owner being orphaned is solid).

and: if a solid owner remains, references to absent and waiting owners are removed (the dependent
lives on); otherwise the dependent is deleted, with ``Foreground`` when a waiting owner needs its own
dependents to go first, else with the policy its own finalizers ask for (``Background`` by default).

Also here: terminated-pod GC (``--terminated-pod-gc-threshold``) and pods bound to nodes that no
longer exist.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"
DEFAULT_TERMINATED_POD_GC_THRESHOLD = 12500


class OwnerState(enum.Enum):
    SOLID = "solid"
    WAITING = "waiting"
    ABSENT = "absent"


@dataclass(frozen=True)
class Ref:
    """Where an object lives: resource (lowercase plural), namespace (None if cluster-scoped), name."""

    resource: str
    namespace: str | None
    name: str


@dataclass(frozen=True)
class DeleteObject:
    ref: Ref
    uid: str  # precondition: only this incarnation
    propagation_policy: str = "Background"
    grace_period_seconds: int | None = None


@dataclass(frozen=True)
class UpdateObject:
    """Write back a modified copy (compare-and-set on its resourceVersion)."""

    ref: Ref
    obj: dict[str, Any]


Action = DeleteObject | UpdateObject


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def owner_state(owner: dict[str, Any] | None, uid: str) -> OwnerState:
    """Classify one owner reference given the object found under the owner's kind and name."""
    if owner is None or _meta(owner).get("uid") != uid:
        return OwnerState.ABSENT
    meta = _meta(owner)
    if meta.get("deletionTimestamp") and FOREGROUND_FINALIZER in (meta.get("finalizers") or []):
        return OwnerState.WAITING
    return OwnerState.SOLID


def deletion_policy_for(obj: dict[str, Any]) -> str:
    finalizers = _meta(obj).get("finalizers") or []
    if ORPHAN_FINALIZER in finalizers:
        return "Orphan"
    if FOREGROUND_FINALIZER in finalizers:
        return "Foreground"
    return "Background"


def plan_dependent(
    ref: Ref,
    obj: dict[str, Any],
    states: dict[str, OwnerState],
    has_dependents: bool,
) -> list[Action]:
    """One object with owner references: keep, detach from gone owners, or delete.

    ``states`` maps each owner reference's uid to its :class:`OwnerState`; a uid missing from it is
    taken as SOLID (unknown kinds are never collected). ``has_dependents`` says whether anything
    points at ``obj`` as its owner.
    """
    meta = _meta(obj)
    refs = meta.get("ownerReferences") or []
    if not refs:
        return []
    if meta.get("deletionTimestamp") and FOREGROUND_FINALIZER not in (meta.get("finalizers") or []):
        return []  # already going away
    classified = [(r, states.get(r.get("uid", ""), OwnerState.SOLID)) for r in refs]
    solid = [r for r, s in classified if s is OwnerState.SOLID]
    dangling = [r for r, s in classified if s is OwnerState.ABSENT]
    waiting = [r for r, s in classified if s is OwnerState.WAITING]
    if solid:
        if not dangling and not waiting:
            return []
        gone = {r.get("uid") for r in dangling + waiting}
        updated = copy.deepcopy(obj)
        updated["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") not in gone]
        return [UpdateObject(ref, updated)]
    if meta.get("deletionTimestamp"):
        return []  # foreground deletion of this object is under way already
    uid = meta.get("uid", "")
    if waiting and has_dependents:
        return [DeleteObject(ref, uid, "Foreground")]
    return [DeleteObject(ref, uid, deletion_policy_for(obj))]


def references(obj: dict[str, Any], owner_uid: str) -> bool:
    return any(r.get("uid") == owner_uid for r in _meta(obj).get("ownerReferences") or [])


def _without_finalizer(owner: dict[str, Any], finalizer: str) -> dict[str, Any]:
    updated = copy.deepcopy(owner)
    fins = [f for f in updated["metadata"].get("finalizers") or [] if f != finalizer]
    if fins:
        updated["metadata"]["finalizers"] = fins
    else:
        updated["metadata"].pop("finalizers", None)
    return updated


def plan_owner(
    ref: Ref,
    owner: dict[str, Any],
    dependents: Iterable[tuple[Ref, dict[str, Any]]],
) -> list[Action]:
    """An owner being deleted with the ``orphan`` or ``foregroundDeletion`` finalizer.

    ``dependents`` are the objects whose owner references name ``owner``'s uid. Orphan: detach each
    of them, then (once none is left) remove the finalizer. Foreground: remove the finalizer once no
    dependent with ``blockOwnerDeletion`` is left; the dependents themselves are deleted through
    :func:`plan_dependent`, which sees this owner as WAITING.
    """
    meta = _meta(owner)
    if not meta.get("deletionTimestamp"):
        return []
    uid = meta.get("uid", "")
    finalizers = meta.get("finalizers") or []
    deps = [(r, d) for r, d in dependents if references(d, uid)]
    actions: list[Action] = []
    if ORPHAN_FINALIZER in finalizers:
        if deps:
            for dref, dep in deps:
                updated = copy.deepcopy(dep)
                updated["metadata"]["ownerReferences"] = [
                    r for r in updated["metadata"].get("ownerReferences") or [] if r.get("uid") != uid
                ]
                if not updated["metadata"]["ownerReferences"]:
                    updated["metadata"].pop("ownerReferences")
                actions.append(UpdateObject(dref, updated))
            return actions
        return [UpdateObject(ref, _without_finalizer(owner, ORPHAN_FINALIZER))]
    if FOREGROUND_FINALIZER in finalizers:
        blocking = [
            d
            for _, d in deps
            for r in _meta(d).get("ownerReferences") or []
            if r.get("uid") == uid and r.get("blockOwnerDeletion")
        ]
        if not blocking:
            return [UpdateObject(ref, _without_finalizer(owner, FOREGROUND_FINALIZER))]
    return []


# --- pods -----------------------------------------------------------------------------------------


def _pod_ref(pod: dict[str, Any]) -> Ref:
    meta = _meta(pod)
    return Ref("pods", meta.get("namespace") or "default", meta.get("name", ""))


def is_terminated(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def plan_terminated_pods(pods: Iterable[dict[str, Any]], threshold: int) -> list[Action]:
    """Delete the oldest terminated pods beyond ``threshold`` (0 disables, as Kubernetes)."""
    if threshold <= 0:
        return []
    terminated = [p for p in pods if is_terminated(p) and not _meta(p).get("deletionTimestamp")]
    excess = len(terminated) - threshold
    if excess <= 0:
        return []
    terminated.sort(key=lambda p: (_meta(p).get("creationTimestamp") or "", _meta(p).get("name", "")))
    return [DeleteObject(_pod_ref(p), _meta(p).get("uid", ""), "Background", 0) for p in terminated[:excess]]


def plan_orphaned_pods(pods: Iterable[dict[str, Any]], node_exists: Callable[[str], bool]) -> list[Action]:
    """Pods bound to a node that does not exist, and terminating pods never scheduled: force-delete.

    ``node_exists`` must be authoritative (the controller confirms a cache miss with a live read).
    """
    actions: list[Action] = []
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        meta = _meta(pod)
        if node and not node_exists(node):
            actions.append(DeleteObject(_pod_ref(pod), meta.get("uid", ""), "Background", 0))
        elif not node and meta.get("deletionTimestamp"):
            actions.append(DeleteObject(_pod_ref(pod), meta.get("uid", ""), "Background", 0))
    return actions
