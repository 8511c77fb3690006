"""Pure decisions of the StatefulSet controller, after Kubernetes' ``stateful_set_control.go``.

``plan(sts, pods, claims)``: the StatefulSet, the pods and the claims of its namespace.

- **Identity.** Pod ``i`` is ``<name>-<i>`` for ``i`` in ``[start, start + replicas)``
  (``spec.ordinals.start``, default 0), with ``hostname`` ``<name>-<i>`` and ``subdomain``
  ``spec.serviceName`` (the headless Service gives it ``<name>-<i>.<service>.<ns>.svc.<zone>``),
  and the labels ``statefulset.kubernetes.io/pod-name``, ``apps.kubernetes.io/pod-index`` and
  ``controller-revision-hash``.
- **Claims.** For every ``volumeClaimTemplates`` entry ``t``, pod ``i`` mounts the claim
  ``<t>-<name>-<i>``, made before the pod if missing (labels: the selector's ``matchLabels``). A
  claim outlives its pod, so a pod made again (after a delete or a scale down and up) finds its
  data. ``persistentVolumeClaimRetentionPolicy`` (Retain by default) becomes owner references
  that the garbage collector acts on: ``whenDeleted: Delete`` makes the set own its claims,
  ``whenScaled: Delete`` makes a pod being scaled away the only owner of its claims.
- **OrderedReady** (default): ordinals are handled in order and the controller waits until each
  pod is Running and Ready before it makes the next; a failed pod is deleted to be made again;
  scale down deletes the highest ordinal first, one at a time, and only while every other pod is
  healthy. **Parallel**: every missing pod is made at once, every surplus pod deleted at once.
- **Updates** (``RollingUpdate``): once all pods are Running and Ready, the pod with the highest
  ordinal ``>= partition`` whose ``controller-revision-hash`` is not the template's current one is
  deleted; it comes back from the current template, and the next one goes once it is Ready.
  ``OnDelete``: pods change only when the user deletes them. Where jetkube differs: it keeps no
  ControllerRevisions, so a pod below the partition that is deleted comes back from the current
  template, not from the revision it had.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from actors.workload.hashing import template_hash
from actors.workload.ownership import claim
from actors.workload.podutil import (
    available_in,
    is_available,
    is_ready,
    is_terminating,
    meta,
    name_of,
    owner_reference,
    phase,
)
from actors.workload.selector import labels_of, selector_matcher

Obj = dict[str, Any]

REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


@dataclass
class StatefulPlan:
    adopt: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)
    create_claims: list[Obj] = field(default_factory=list)
    claim_owners: dict[str, list[Obj]] = field(default_factory=dict)  # claim name -> new ownerReferences
    create_pods: list[Obj] = field(default_factory=list)
    delete_pods: list[str] = field(default_factory=list)
    status: Obj | None = None
    requeue_after: float | None = None  # seconds until a ready pod becomes available (minReadySeconds)


def update_revision(sts: Obj) -> str:
    spec = sts.get("spec") or {}
    digest = template_hash(spec.get("template") or {}, (sts.get("status") or {}).get("collisionCount"))
    return f"{name_of(sts)}-{digest}"


def ordinal_of(sts: Obj, pod: Obj) -> int | None:
    m = re.fullmatch(re.escape(name_of(sts)) + r"-(\d+)", name_of(pod))
    return int(m.group(1)) if m else None


def claim_name(template: Obj, sts: Obj, ordinal: int) -> str:
    return f"{(template.get('metadata') or {}).get('name')}-{name_of(sts)}-{ordinal}"


def _namespace(sts: Obj) -> str:
    return str(meta(sts).get("namespace") or "default")


def new_claim(template: Obj, sts: Obj, ordinal: int) -> Obj:
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    labels.update(((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
    out: Obj = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": claim_name(template, sts, ordinal),
            "namespace": _namespace(sts),
            "labels": labels,
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
    if tmeta.get("annotations"):
        out["metadata"]["annotations"] = dict(tmeta["annotations"])
    if _retention(sts, "whenDeleted") == "Delete":
        out["metadata"]["ownerReferences"] = [_owner(sts, "apps/v1", "StatefulSet")]
    return out


def _retention(sts: Obj, key: str) -> str:
    policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return str(policy.get(key) or "Retain")


def _owner(owner: Obj, api_version: str, kind: str) -> Obj:
    """A plain (not controller) owner reference: the garbage collector deletes the claim with it."""
    return {"apiVersion": api_version, "kind": kind, "name": name_of(owner), "uid": meta(owner).get("uid")}


def claim_owners(sts: Obj, claim: Obj, pod: Obj | None, condemned: bool) -> list[Obj] | None:
    """The claim's ownerReferences under the retention policy (None: already right).

    ``whenDeleted: Delete``: the StatefulSet owns its claims. ``whenScaled: Delete``: a claim of a
    pod being scaled away is owned by that pod alone, so it goes with it (the garbage collector
    deletes an object only once every owner is gone), as Kubernetes' StatefulSetAutoDeletePVC."""
    refs = list(meta(claim).get("ownerReferences") or [])
    sts_uid = meta(sts).get("uid")
    pod_uid = meta(pod).get("uid") if pod is not None else None
    keep = [
        r for r in refs if r.get("uid") != sts_uid and (r.get("kind") != "Pod" or r.get("uid") == pod_uid)
    ]
    wanted = [r for r in keep if r.get("uid") != pod_uid]
    if condemned and pod is not None and _retention(sts, "whenScaled") == "Delete":
        wanted.append(_owner(pod, "v1", "Pod"))  # the pod alone: a claim goes once all its owners are gone
    elif _retention(sts, "whenDeleted") == "Delete":
        wanted.append(_owner(sts, "apps/v1", "StatefulSet"))
    key = lambda r: str(r.get("uid"))  # noqa: E731
    return None if sorted(map(key, wanted)) == sorted(map(key, refs)) else wanted


def new_pod(sts: Obj, ordinal: int, revision: str) -> Obj:
    spec = sts.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    tmeta = template.get("metadata") or {}
    name = f"{name_of(sts)}-{ordinal}"
    labels = dict(tmeta.get("labels") or {})
    labels.update({POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal), REVISION_LABEL: revision})
    pod_meta: Obj = {
        "name": name,
        "namespace": _namespace(sts),
        "labels": labels,
        "ownerReferences": [owner_reference(sts, "apps/v1", "StatefulSet")],
    }
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    pod_spec = template.get("spec") or {}
    pod_spec["hostname"] = name
    if spec.get("serviceName"):
        pod_spec["subdomain"] = spec["serviceName"]
    templates = spec.get("volumeClaimTemplates") or []
    claimed = {(t.get("metadata") or {}).get("name") for t in templates}
    volumes = [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claimed]
    for t in templates:
        volumes.append(
            {
                "name": (t.get("metadata") or {}).get("name"),
                "persistentVolumeClaim": {"claimName": claim_name(t, sts, ordinal)},
            }
        )
    if volumes:
        pod_spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def _healthy(pod: Obj) -> bool:
    return phase(pod) == "Running" and is_ready(pod) and not is_terminating(pod)


def _failed(pod: Obj) -> bool:
    return phase(pod) in ("Failed", "Succeeded") and not is_terminating(pod)


def plan(sts: Obj, pods: list[Obj], claims: list[Obj], now: datetime | None = None) -> StatefulPlan:
    out = StatefulPlan()
    now = now or datetime.now(UTC)
    spec = sts.get("spec") or {}
    replicas = int(spec.get("replicas") if spec.get("replicas") is not None else 1)
    start = int((spec.get("ordinals") or {}).get("start") or 0)
    parallel = spec.get("podManagementPolicy") == "Parallel"
    strategy = spec.get("updateStrategy") or {}
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    revision = update_revision(sts)
    matcher = selector_matcher(spec.get("selector"))
    claimed = claim(sts, pods, lambda p: matcher(labels_of(p)) and ordinal_of(sts, p) is not None)
    out.adopt = [name_of(p) for p in claimed.adopt]
    out.release = [name_of(p) for p in claimed.release]
    by_ordinal: dict[int, Obj] = {}
    for pod in claimed.owned:
        ordinal = ordinal_of(sts, pod)
        if ordinal is not None:
            by_ordinal[ordinal] = pod
    wanted = range(start, start + replicas)
    condemned = sorted((o for o in by_ordinal if o not in wanted), reverse=True)
    claim_names = {name_of(c) for c in claims if not is_terminating(c)}
    templates = spec.get("volumeClaimTemplates") or []

    status = _status(sts, by_ordinal, wanted, revision, now)
    out.status = status
    min_ready = int(spec.get("minReadySeconds") or 0)
    waits = [w for p in by_ordinal.values() if (w := available_in(p, min_ready, now)) is not None]
    out.requeue_after = min(waits) if waits else None
    if is_terminating(sts):
        return out

    # the retention policy, as owner references on the claims
    by_claim = {name_of(c): c for c in claims if not is_terminating(c)}
    for ordinal in sorted(set(wanted) | set(by_ordinal)):
        for t in templates:
            existing = by_claim.get(claim_name(t, sts, ordinal))
            if existing is None:
                continue
            refs = claim_owners(sts, existing, by_ordinal.get(ordinal), ordinal not in wanted)
            if refs is not None:
                out.claim_owners[name_of(existing)] = refs

    # make or repair the wanted pods, in order
    blocked = False
    for ordinal in wanted:
        pod = by_ordinal.get(ordinal)
        if pod is None:
            for t in templates:
                if claim_name(t, sts, ordinal) not in claim_names:
                    out.create_claims.append(new_claim(t, sts, ordinal))
            out.create_pods.append(new_pod(sts, ordinal, revision))
            if not parallel:
                blocked = True
                break
            continue
        if _failed(pod):
            out.delete_pods.append(name_of(pod))
            if not parallel:
                blocked = True
                break
            continue
        if not parallel and not _healthy(pod):
            blocked = True
            break
    if blocked:
        return out

    # scale down, highest ordinal first
    if condemned:
        if parallel:
            out.delete_pods.extend(
                name_of(by_ordinal[o]) for o in condemned if not is_terminating(by_ordinal[o])
            )
        elif not any(is_terminating(by_ordinal[o]) for o in condemned):
            out.delete_pods.append(name_of(by_ordinal[condemned[0]]))
        return out

    # rolling update, highest ordinal first, one at a time
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        if (
            out.create_pods
            or out.delete_pods
            or any(o not in by_ordinal or not _healthy(by_ordinal[o]) for o in wanted)
        ):
            return out
        for ordinal in sorted(wanted, reverse=True):
            if ordinal - start < partition:
                break
            pod = by_ordinal[ordinal]
            if labels_of(pod).get(REVISION_LABEL) != revision:
                out.delete_pods.append(name_of(pod))
                break
    return out


def _status(sts: Obj, by_ordinal: dict[int, Obj], wanted: range, revision: str, now: datetime) -> Obj:
    live = [p for p in by_ordinal.values() if not is_terminating(p)]
    ready = [p for p in live if _healthy(p)]
    min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
    available = [p for p in ready if is_available(p, min_ready, now)]
    updated = [p for p in live if labels_of(p).get(REVISION_LABEL) == revision]
    old = sts.get("status") or {}
    current_revision = old.get("currentRevision") or revision
    if len(updated) == len(wanted) and len(ready) == len(wanted) and all(o in by_ordinal for o in wanted):
        current_revision = revision
    current = [p for p in live if labels_of(p).get(REVISION_LABEL) == current_revision]
    out: Obj = {
        "observedGeneration": meta(sts).get("generation") or 1,
        "replicas": len(live),
        "readyReplicas": len(ready),
        "availableReplicas": len(available),
        "currentReplicas": len(current),
        "updatedReplicas": len(updated),
        "currentRevision": current_revision,
        "updateRevision": revision,
        "collisionCount": old.get("collisionCount") or 0,
    }
    return out
