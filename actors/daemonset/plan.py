"""Pure decisions of the DaemonSet controller, after Kubernetes' ``pkg/controller/daemon``.

``plan(ds, nodes, pods, now)``: the DaemonSet, every node, the pods of its namespace, the time.

- claim pods by the selector (adopt / release, as every controller);
- per node (:mod:`actors.daemonset.eligibility`): an eligible node with no pod gets one; a node
  whose pod may stay has its Failed/Succeeded pods deleted (replaced next sync) and, of several
  running pods, all but the oldest deleted; a node that stopped matching has its pods deleted, and
  so has a node that left the cluster;
- updates: pods carry the ``controller-revision-hash`` label of the template they were made from.
  ``RollingUpdate`` deletes out-of-date pods (unavailable ones at once, available ones while fewer
  than ``maxUnavailable`` nodes are unavailable); the manage step then creates current pods in
  their place. ``OnDelete`` replaces a pod only once the user deleted it;
- status: desiredNumberScheduled, currentNumberScheduled, numberMisscheduled, numberReady,
  numberAvailable, numberUnavailable, updatedNumberScheduled, observedGeneration.

Placement: jetkube writes ``spec.nodeName`` on the pods it creates instead of Kubernetes' (>= 1.12)
required node affinity on ``metadata.name`` left to the scheduler. The controller has already
decided the node (selector, affinity, taints) and a DaemonSet pod must land there even on a
cordoned node, so binding directly needs no scheduler round trip and no scheduler support for
``matchFields``; what is lost is the scheduler's resource-fit check (the kubelet still admits) and
preemption, which jetkube's scheduler does not do anyway.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actors.daemonset.eligibility import daemon_tolerations, node_placement
from actors.workload.hashing import template_hash
from actors.workload.intstr import scaled_value
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
    pod_from_template,
)
from actors.workload.selector import labels_of, selector_matcher
from schemas.status import parse_time

REVISION_HASH = "controller-revision-hash"


@dataclass
class DaemonPlan:
    adopt: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)
    create: list[str] = field(default_factory=list)  # node names that get a new pod
    pod: dict[str, Any] | None = None  # the pod to create, without spec.nodeName
    delete: list[str] = field(default_factory=list)  # pod names
    status: dict[str, Any] | None = None
    requeue_after: float | None = None


def current_hash(ds: dict[str, Any]) -> str:
    spec = ds.get("spec") or {}
    return template_hash(spec.get("template") or {}, (ds.get("status") or {}).get("collisionCount"))


def _age_key(pod: dict[str, Any]) -> tuple[Any, ...]:
    """``podByCreationTimestampAndPhase``: oldest first, Running before others among equals."""
    created = parse_time(meta(pod).get("creationTimestamp"))
    return (created.timestamp() if created else 0.0, 0 if phase(pod) == "Running" else 1, name_of(pod))


def daemon_pod(ds: dict[str, Any], pod_hash: str) -> dict[str, Any]:
    spec = ds.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    tspec = template.setdefault("spec", {})
    tspec["tolerations"] = daemon_tolerations(tspec)
    return pod_from_template(
        template,
        namespace=str(meta(ds).get("namespace") or "default"),
        generate_prefix=f"{name_of(ds)}-",
        owner_ref=owner_reference(ds, "apps/v1", "DaemonSet"),
        extra_labels={REVISION_HASH: pod_hash},
    )


def max_unavailable(ds: dict[str, Any], desired: int) -> int:
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    value = (strategy.get("rollingUpdate") or {}).get("maxUnavailable")
    return max(scaled_value(value, desired, round_up=True, default=1), 1)


def plan(
    ds: dict[str, Any],
    nodes: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    now: datetime,
    *,
    needs_sync: bool = True,
) -> DaemonPlan:
    out = DaemonPlan()
    spec = ds.get("spec") or {}
    tspec = (spec.get("template") or {}).get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    pod_hash = current_hash(ds)
    matcher = selector_matcher(spec.get("selector"))
    claimed = claim(ds, pods, lambda p: matcher(labels_of(p)))
    out.adopt = [name_of(p) for p in claimed.adopt]
    out.release = [name_of(p) for p in claimed.release]

    by_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pod in claimed.owned:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name:
            by_node[node_name].append(pod)
    for pods_on_node in by_node.values():
        pods_on_node.sort(key=_age_key)

    placement = {name_of(n): node_placement(tspec, n) for n in nodes}
    delete: list[str] = []
    create: list[str] = []
    for node in sorted(placement):
        should_run, should_continue = placement[node]
        on_node = by_node.get(node, [])
        if should_run and not on_node:
            create.append(node)
        elif should_continue:
            running = []
            for pod in on_node:
                if is_terminating(pod):
                    continue
                if phase(pod) in ("Failed", "Succeeded"):
                    delete.append(name_of(pod))
                else:
                    running.append(pod)
            delete.extend(name_of(p) for p in running[1:])
        elif on_node:
            delete.extend(name_of(p) for p in on_node if not is_terminating(p))
    for node, on_node in sorted(by_node.items()):
        if node not in placement:
            delete.extend(name_of(p) for p in on_node if not is_terminating(p))

    desired = sum(1 for run, _ in placement.values() if run)
    strategy = str((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate")
    if strategy == "RollingUpdate":
        delete.extend(
            p
            for p in _rolling_deletes(by_node, placement, pod_hash, min_ready, desired, ds, now)
            if p not in delete
        )

    if needs_sync and not is_terminating(ds):
        out.create = create
        out.delete = delete
        if create:
            out.pod = daemon_pod(ds, pod_hash)

    status, wait = _status(ds, by_node, placement, pod_hash, min_ready, now)
    if any((ds.get("status") or {}).get(k) != v for k, v in status.items()):
        out.status = {**(ds.get("status") or {}), **status}
    out.requeue_after = wait
    return out


def _rolling_deletes(
    by_node: dict[str, list[dict[str, Any]]],
    placement: dict[str, tuple[bool, bool]],
    pod_hash: str,
    min_ready: int,
    desired: int,
    ds: dict[str, Any],
    now: datetime,
) -> list[str]:
    budget = max_unavailable(ds, desired)
    unavailable = 0
    replace_now: list[str] = []
    candidates: list[str] = []
    for node in sorted(by_node):
        if not placement.get(node, (False, False))[1]:
            continue
        live = [p for p in by_node[node] if not is_terminating(p) and phase(p) not in ("Failed", "Succeeded")]
        new = [p for p in live if labels_of(p).get(REVISION_HASH) == pod_hash]
        old = [p for p in live if labels_of(p).get(REVISION_HASH) != pod_hash]
        if len(new) > 1 or len(old) > 1 or (not new and not old) or (new and old):
            unavailable += 1
        elif new:
            if not is_available(new[0], min_ready, now):
                unavailable += 1
        elif not is_available(old[0], min_ready, now):
            replace_now.append(name_of(old[0]))
        elif unavailable < budget:
            candidates.append(name_of(old[0]))
    remaining = min(max(budget - unavailable, 0), len(candidates))
    return replace_now + candidates[:remaining]


def _status(
    ds: dict[str, Any],
    by_node: dict[str, list[dict[str, Any]]],
    placement: dict[str, tuple[bool, bool]],
    pod_hash: str,
    min_ready: int,
    now: datetime,
) -> tuple[dict[str, Any], float | None]:
    desired = current = misscheduled = ready = available = updated = 0
    waits: list[float] = []
    for node, (should_run, _) in placement.items():
        on_node = by_node.get(node, [])
        if not should_run:
            misscheduled += 1 if on_node else 0
            continue
        desired += 1
        if not on_node:
            continue
        current += 1
        pod = on_node[0]
        if is_ready(pod):
            ready += 1
            if is_available(pod, min_ready, now):
                available += 1
            elif (w := available_in(pod, min_ready, now)) is not None:
                waits.append(w)
        if labels_of(pod).get(REVISION_HASH) == pod_hash:
            updated += 1
    status = {
        "desiredNumberScheduled": desired,
        "currentNumberScheduled": current,
        "numberMisscheduled": misscheduled,
        "numberReady": ready,
        "numberAvailable": available,
        "numberUnavailable": desired - available,
        "updatedNumberScheduled": updated,
        "observedGeneration": int(meta(ds).get("generation") or 0),
    }
    return status, (min(waits) if waits else None)
