"""Pure decisions of the PersistentVolume controller (Kubernetes' ``pkg/controller/volume/persistentvolume``).

``plan_claim(claim, volumes, classes)`` says what to do with one claim:

- bound already (``spec.volumeName`` set): keep its status Bound (or ``Lost`` when the volume is
  gone or bound to someone else);
- ``spec.volumeName`` given: bind to that volume if it fits, else wait with the reason;
- else the best matching volume: same class (``""`` and no class are the same), capacity at least
  the request, every access mode asked for, the selector matching its labels, the same volume
  mode, not bound to another claim; of those, the smallest (ties by name), as Kubernetes'
  ``findBestMatchForClaim``; a volume pre-bound to this claim (``claimRef``) wins;
- no volume: a class with a provisioner provisions (``WaitForFirstConsumer`` classes once the
  scheduler chose a node, the ``volume.kubernetes.io/selected-node`` annotation); no class: the
  claim stays Pending with a ``FailedBinding`` event saying why no volume fits.

``plan_volume(volume, claims)`` keeps a volume's phase: Available (no claim), Bound, Released
(its claim was deleted; the uid tells a new claim of the same name apart) and the reclaim policy
then: ``Retain`` keeps it Released, ``Delete`` deletes it (through its provisioner when it has
one), ``Recycle`` is not supported (Failed, as Kubernetes without a recycler).

Binding writes the volume's ``claimRef`` first, then the claim's ``volumeName``: a crash in
between leaves a volume pre-bound to the claim, which the next sync binds (as Kubernetes).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from actors.workload.selector import selector_matcher
from schemas.quantity import QuantityError, parse

Obj = dict[str, Any]

SELECTED_NODE = "volume.kubernetes.io/selected-node"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
NO_CLASS_MESSAGE = "no persistent volumes available for this claim and no storage class is set"
WAIT_MESSAGE = "waiting for first consumer to be created before binding"


def _meta(obj: Obj | None) -> Obj:
    return (obj or {}).get("metadata") or {}


def _spec(obj: Obj | None) -> Obj:
    return (obj or {}).get("spec") or {}


def name_of(obj: Obj) -> str:
    return str(_meta(obj).get("name") or "")


def claim_key(claim: Obj) -> str:
    return f"{_meta(claim).get('namespace') or 'default'}/{name_of(claim)}"


def _storage(values: Obj | None) -> Fraction:
    try:
        return parse((values or {}).get("storage") or 0)
    except QuantityError:
        return Fraction(0)


def requested(claim: Obj) -> Fraction:
    return _storage((_spec(claim).get("resources") or {}).get("requests"))


def capacity(volume: Obj) -> Fraction:
    return _storage(_spec(volume).get("capacity"))


def class_of(obj: Obj) -> str:
    return str(_spec(obj).get("storageClassName") or "")


def phase(obj: Obj) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


def claim_ref_matches(volume: Obj, claim: Obj) -> bool:
    """The volume's claimRef names this claim (and this claim's uid, when the ref has one)."""
    ref = _spec(volume).get("claimRef") or {}
    if not ref:
        return False
    meta = _meta(claim)
    if ref.get("name") != meta.get("name") or (ref.get("namespace") or "default") != (
        meta.get("namespace") or "default"
    ):
        return False
    return not ref.get("uid") or ref.get("uid") == meta.get("uid")


def claim_ref(claim: Obj) -> Obj:
    meta = _meta(claim)
    return {
        "kind": "PersistentVolumeClaim",
        "namespace": meta.get("namespace") or "default",
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "apiVersion": "v1",
        "resourceVersion": meta.get("resourceVersion"),
    }


def mismatch(volume: Obj, claim: Obj) -> str | None:
    """Why ``volume`` cannot hold ``claim`` (None: it can), ignoring whom it is bound to."""
    if _meta(volume).get("deletionTimestamp"):
        return "being deleted"
    if class_of(volume) != class_of(claim):
        return "storage class differs"
    spec = _spec(volume)
    if (spec.get("volumeMode") or "Filesystem") != (_spec(claim).get("volumeMode") or "Filesystem"):
        return "volume mode differs"
    modes = set(spec.get("accessModes") or ())
    missing = [m for m in _spec(claim).get("accessModes") or () if m not in modes]
    if missing:
        return f"access modes lack {','.join(missing)}"
    selector = _spec(claim).get("selector")
    if selector and not selector_matcher(selector)(_meta(volume).get("labels") or {}):
        return "labels do not match the selector"
    if capacity(volume) < requested(claim):
        return "too small"
    return None


def _free(volume: Obj, claim: Obj) -> bool:
    ref = _spec(volume).get("claimRef")
    return not ref or claim_ref_matches(volume, claim)


def find_volume(claim: Obj, volumes: list[Obj]) -> tuple[Obj | None, str]:
    """The best volume for ``claim``, or None and why none fits (for the event)."""
    wanted = _spec(claim).get("volumeName")
    if wanted:
        vol = next((v for v in volumes if name_of(v) == wanted), None)
        if vol is None:
            return None, f'volume "{wanted}" not found'
        if not _free(vol, claim):
            return None, f'volume "{wanted}" already bound to a different claim.'
        why = mismatch(vol, claim)
        if why is not None:
            return None, f'volume "{wanted}" cannot be bound: {why}'
        return vol, ""
    prebound = [v for v in volumes if claim_ref_matches(v, claim) and mismatch(v, claim) is None]
    if prebound:
        return sorted(prebound, key=name_of)[0], ""
    fits: list[Obj] = []
    reasons: dict[str, int] = {}
    largest: Obj | None = None
    for vol in volumes:
        if _spec(vol).get("claimRef"):
            continue
        if phase(vol) not in ("", "Available", "Pending"):
            continue
        why = mismatch(vol, claim)
        if why is None:
            fits.append(vol)
        else:
            reasons[why] = reasons.get(why, 0) + 1
            if why == "too small" and (largest is None or capacity(vol) > capacity(largest)):
                largest = vol
    if fits:
        return min(fits, key=lambda v: (capacity(v), name_of(v))), ""
    if not reasons:
        return None, ""
    parts = []
    for why, n in sorted(reasons.items()):
        text = f"{n} {'volume' if n == 1 else 'volumes'}: {why}"
        if why == "too small" and largest is not None:
            biggest = _spec(largest).get("capacity", {}).get("storage")
            asked = ((_spec(claim).get("resources") or {}).get("requests") or {}).get("storage")
            text += f" (largest {biggest}, requested {asked})"
        parts.append(text)
    return None, "; ".join(parts)


@dataclass
class ClaimPlan:
    bind_volume: str | None = None  # write this volume's claimRef (then the claim)
    claim_status: Obj | None = None  # the claim's new status (None: unchanged)
    volume_name: str | None = None  # the claim's new spec.volumeName
    provision: bool = False  # ask the class's provisioner (node: selected_node)
    selected_node: str | None = None
    event: tuple[str, str, str] | None = None  # (type, reason, message)


def _bound_status(claim: Obj, volume: Obj) -> Obj:
    return {
        "phase": "Bound",
        "accessModes": list(_spec(volume).get("accessModes") or ()),
        "capacity": dict(_spec(volume).get("capacity") or {}),
    }


def plan_claim(claim: Obj, volumes: list[Obj], classes: list[Obj], provisioners: set[str]) -> ClaimPlan:
    """What to do with ``claim`` (see the module doc). ``provisioners``: those this process runs."""
    out = ClaimPlan()
    if _meta(claim).get("deletionTimestamp"):
        return out
    spec = _spec(claim)
    by_name = {name_of(v): v for v in volumes}
    bound_to = spec.get("volumeName")
    if bound_to and phase(claim) == "Bound":
        vol = by_name.get(bound_to)
        if vol is None or (_spec(vol).get("claimRef") and not claim_ref_matches(vol, claim)):
            out.claim_status = {**(claim.get("status") or {}), "phase": "Lost"}
            out.event = (
                "Warning",
                "ClaimLost",
                "Bound claim has lost its PersistentVolume. Data on it is lost!",
            )
            return out
        if not _spec(vol).get("claimRef"):
            out.bind_volume = bound_to  # the volume lost its claimRef: write it again
        return out
    vol, why = find_volume(claim, volumes)
    if vol is not None:
        if not claim_ref_matches(vol, claim) or not (_spec(vol).get("claimRef") or {}).get("uid"):
            out.bind_volume = name_of(vol)
        out.volume_name = name_of(vol)
        out.claim_status = _bound_status(claim, vol)
        return out
    if bound_to:
        out.event = ("Warning", "FailedBinding", why)
        return out
    klass_name = class_of(claim)
    klass = next((c for c in classes if name_of(c) == klass_name), None) if klass_name else None
    if klass is None:
        if klass_name:
            out.event = (
                "Warning",
                "ProvisioningFailed",
                f'storageclass.storage.k8s.io "{klass_name}" not found',
            )
        else:
            out.event = ("Normal", "FailedBinding", f"{NO_CLASS_MESSAGE}: {why}" if why else NO_CLASS_MESSAGE)
        return out
    node = (_meta(claim).get("annotations") or {}).get(SELECTED_NODE)
    if klass.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
        out.event = ("Normal", "WaitForFirstConsumer", WAIT_MESSAGE)
        return out
    provisioner = str(klass.get("provisioner") or "")
    if provisioner not in provisioners:
        out.event = (
            "Normal",
            "ExternalProvisioning",
            f"Waiting for a volume to be created either by the external provisioner '{provisioner}' "
            "or manually by the system administrator. If volume creation is delayed, please verify "
            "that the provisioner is running and correctly registered.",
        )
        return out
    out.provision = True
    out.selected_node = node
    return out


@dataclass
class VolumePlan:
    status: Obj | None = None  # the volume's new status
    clear_claim_ref: bool = False
    delete: bool = False  # reclaim: delete it (through its provisioner when provisioned)
    remove_finalizer: str | None = None
    event: tuple[str, str, str] | None = None


def _status(volume: Obj, phase_: str, message: str = "", reason: str = "") -> Obj | None:
    current = volume.get("status") or {}
    if current.get("phase") == phase_ and (current.get("message") or "") == message:
        return None
    out: Obj = {"phase": phase_}
    if message:
        out["message"] = message
    if reason:
        out["reason"] = reason
    return out


def plan_volume(
    volume: Obj,
    claims: list[Obj],
    provisioners: set[str],
    pv_protection: str = "kubernetes.io/pv-protection",
) -> VolumePlan:
    out = VolumePlan()
    meta = _meta(volume)
    spec = _spec(volume)
    ref = spec.get("claimRef") or {}
    claim = None
    if ref:
        key = f"{ref.get('namespace') or 'default'}/{ref.get('name')}"
        claim = next((c for c in claims if claim_key(c) == key), None)
        if claim is not None and ref.get("uid") and _meta(claim).get("uid") != ref.get("uid"):
            claim = None  # a new claim of the same name: the old one is gone
    if meta.get("deletionTimestamp"):
        if pv_protection in (meta.get("finalizers") or ()) and (claim is None or phase(volume) != "Bound"):
            out.remove_finalizer = pv_protection
        return out
    if not ref:
        out.status = _status(volume, "Available")
        return out
    if claim is not None:
        if _spec(claim).get("volumeName") == name_of(volume):
            out.status = _status(volume, "Bound")
        elif not ref.get("uid"):
            out.status = _status(volume, "Available")  # pre-bound by the user, waiting for its claim
        elif phase(claim) == "Bound":
            out.status = _status(volume, "Released")  # the claim is bound elsewhere
        return out
    if not ref.get("uid"):
        out.status = _status(volume, "Available")  # pre-bound to a claim that does not exist yet
        return out
    policy = spec.get("persistentVolumeReclaimPolicy") or "Retain"
    if policy == "Delete":
        provisioner = (meta.get("annotations") or {}).get(PROVISIONED_BY)
        if provisioner is None:
            message = (
                f'error getting deleter volume plugin for volume "{name_of(volume)}": '
                "no deletable volume plugin matched"
            )
            out.status = _status(volume, "Failed", message, "VolumeFailedDelete")
            if out.status is not None:
                out.event = ("Warning", "VolumeFailedDelete", message)
        else:
            out.status = _status(volume, "Released")
            out.delete = provisioner in provisioners
    elif policy == "Recycle":
        out.status = _status(
            volume, "Failed", "No recycler plugin found for the volume!", "VolumeFailedRecycle"
        )
        if out.status is not None:
            out.event = ("Warning", "VolumeFailedRecycle", "No recycler plugin found for the volume!")
    else:
        out.status = _status(volume, "Released")
    return out
