"""Pure decisions of deletion: graceful pods, finalizers, propagation policies, namespaces.

Kubernetes' rules, as the api actor applies them:

* An object with finalizers is not removed: it gets ``deletionTimestamp`` and stays until every
  finalizer is cleared (then the update that clears the last one removes it).
* ``propagationPolicy``: Foreground adds the ``foregroundDeletion`` finalizer, Orphan adds
  ``orphan``; the gc actor does the work and clears them. Background removes the object now and the
  gc actor deletes its dependents.
* A pod bound to a node and not yet terminal is deleted gracefully: ``deletionTimestamp`` = now +
  grace (the request's ``gracePeriodSeconds``, else ``spec.terminationGracePeriodSeconds``, 30 by
  default) and ``deletionGracePeriodSeconds``; its kubelet stops the containers and then deletes
  it with grace 0. A later delete may only shorten the grace. An unbound or terminal pod, or grace
  0, goes at once.
* A namespace with ``spec.finalizers`` turns Terminating; the namespace actor empties it and clears
  the finalizer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

PROPAGATION_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


@dataclass(frozen=True)
class DeleteDecision:
    action: Literal["remove", "mark", "noop"]
    obj: dict[str, Any]


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_grace(pod: dict[str, Any], requested: int | None) -> int:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return max(0, int(requested))
    return int(spec.get("terminationGracePeriodSeconds", 30) or 0)


def plan_delete(
    resource: str,
    obj: dict[str, Any],
    *,
    grace_period_seconds: int | None,
    propagation_policy: str | None,
    now: datetime,
) -> DeleteDecision:
    new = copy.deepcopy(obj)
    meta = new.setdefault("metadata", {})
    finalizers: list[str] = list(meta.get("finalizers") or [])
    extra = PROPAGATION_FINALIZERS.get(propagation_policy or "")
    if extra and extra not in finalizers and not meta.get("deletionTimestamp"):
        finalizers.append(extra)
    grace = pod_grace(new, grace_period_seconds) if resource == "pods" else 0
    namespace_finalizers = resource == "namespaces" and bool((new.get("spec") or {}).get("finalizers"))

    if meta.get("deletionTimestamp"):
        current = int(meta.get("deletionGracePeriodSeconds") or 0)
        if resource == "pods" and grace < current:
            meta["deletionGracePeriodSeconds"] = grace
            meta["deletionTimestamp"] = rfc3339(now + timedelta(seconds=grace))
            if grace == 0 and not finalizers:
                return DeleteDecision("remove", new)
            return DeleteDecision("mark", new)
        if not finalizers and not namespace_finalizers and (resource != "pods" or grace == 0):
            return DeleteDecision("remove", new)
        return DeleteDecision("noop", obj)

    if not finalizers and grace == 0 and not namespace_finalizers:
        return DeleteDecision("remove", new)
    if finalizers:
        meta["finalizers"] = finalizers
    meta["deletionTimestamp"] = rfc3339(now + timedelta(seconds=grace))
    meta["deletionGracePeriodSeconds"] = grace
    if resource == "namespaces":
        new.setdefault("status", {})["phase"] = "Terminating"
    return DeleteDecision("mark", new)


def should_remove_after_update(resource: str, obj: dict[str, Any]) -> bool:
    """An object being deleted whose last finalizer was just cleared goes now."""
    meta = obj.get("metadata") or {}
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if resource == "pods" and int(meta.get("deletionGracePeriodSeconds") or 0) > 0:
        return False
    return not (resource == "namespaces" and (obj.get("spec") or {}).get("finalizers"))
