"""What a pod's claims say about where it may run (kube-scheduler's VolumeBinding plugin). Pure.

:func:`check_claims` looks at every ``persistentVolumeClaim`` volume of a pod:

- a claim that does not exist, or is being deleted, makes the pod unschedulable (as Kubernetes);
- a bound claim whose volume has a required node affinity (a local-path volume: the node its
  directory is on) restricts the pod to those nodes: :func:`with_volume_affinity` ANDs it into the
  pod's own required node affinity, and the ordinary filters do the rest;
- an unbound claim of a ``WaitForFirstConsumer`` class waits for this pod: the node the scheduler
  picks is written on the claim (``volume.kubernetes.io/selected-node``) and its provisioner makes
  the volume there;
- an unbound claim of any other class (or none) makes the pod unschedulable until it is bound.

As Kubernetes' PreBind step, the scheduler actor binds such a pod only once its delayed claims
are bound: it writes the chosen node on them and tries the pod again when they are (or after
``CLAIM_RETRY`` seconds), when the new volumes' node affinity sends it to that node.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas.affinity import _and_terms

Obj = dict[str, Any]
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"


@dataclass
class ClaimCheck:
    error: str | None = None
    terms: list[list[Obj]] = field(default_factory=list)  # each volume's required nodeSelectorTerms
    delayed: list[tuple[str, str]] = field(default_factory=list)  # (namespace, claim) to annotate


def claim_names(pod: Obj) -> list[str]:
    return [
        str(v["persistentVolumeClaim"].get("claimName"))
        for v in (pod.get("spec") or {}).get("volumes") or []
        if v.get("persistentVolumeClaim")
    ]


def check_claims(
    pod: Obj,
    get_claim: Callable[[str], Obj | None],
    get_volume: Callable[[str], Obj | None],
    get_class: Callable[[str], Obj | None],
) -> ClaimCheck:
    """``get_claim(ns/name)``, ``get_volume(name)``, ``get_class(name)`` read the caches."""
    out = ClaimCheck()
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    for name in claim_names(pod):
        claim = get_claim(f"{namespace}/{name}")
        if claim is None:
            out.error = f'persistentvolumeclaim "{name}" not found'
            return out
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            out.error = f'persistentvolumeclaim "{name}" is being deleted'
            return out
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if volume_name:
            volume = get_volume(str(volume_name))
            if volume is None:
                out.error = f'persistentvolume "{volume_name}" not found'
                return out
            required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}
            if required.get("nodeSelectorTerms"):
                out.terms.append(list(required["nodeSelectorTerms"]))
            continue
        klass = get_class(str((claim.get("spec") or {}).get("storageClassName") or ""))
        if klass is not None and klass.get("volumeBindingMode") == "WaitForFirstConsumer":
            out.delayed.append((namespace, name))
            continue
        out.error = UNBOUND_IMMEDIATE
        return out
    return out


def with_volume_affinity(pod: Obj, terms: list[list[Obj]]) -> Obj:
    """A copy of ``pod`` whose required node affinity also demands every volume's terms."""
    if not terms:
        return pod
    out = copy.deepcopy(pod)
    spec = out.setdefault("spec", {})
    node_affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    current = (node_affinity.get(REQUIRED) or {}).get("nodeSelectorTerms")
    merged: list[Obj] = list(current) if current else []
    for volume_terms in terms:
        merged = _and_terms(merged, volume_terms) if merged else list(volume_terms)
    node_affinity[REQUIRED] = {"nodeSelectorTerms": merged}
    return out


def select_node(claim: Obj, node: str) -> Obj | None:
    """The claim with the selected-node annotation (None: it already has it)."""
    annotations = (claim.get("metadata") or {}).get("annotations") or {}
    if annotations.get(SELECTED_NODE) == node or (claim.get("spec") or {}).get("volumeName"):
        return None
    out = copy.deepcopy(claim)
    out["metadata"].setdefault("annotations", {})[SELECTED_NODE] = node
    return out
