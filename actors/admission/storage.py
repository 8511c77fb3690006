"""Admission of claims and volumes, as Kubernetes' DefaultStorageClass and
StorageObjectInUseProtection plugins. Pure.

- A claim that names no class (``storageClassName`` absent, not ``""``) gets the default class:
  the StorageClass annotated ``storageclass.kubernetes.io/is-default-class: "true"`` (the newest,
  if several are). ``""`` asks for no class (a statically made PV without one).
- A claim naming a class that does not exist is refused, ``spec.storageClassName: Not found``.
  Kubernetes stores such a claim and leaves it Pending; jetkube refuses it at once so the typo is
  seen where it was made (issue 20 asks for a clear error and nothing stored).
- Claims get the ``kubernetes.io/pvc-protection`` finalizer and volumes ``kubernetes.io/pv-protection``:
  a claim in use by a pod, or a volume bound to a claim, stays (Terminating) until it is not.
"""

from __future__ import annotations

import copy
from typing import Any

from schemas.errors import FieldError, Invalid
from schemas.printing.storage import is_default_class
from schemas.validation.errors import not_found

PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"

Obj = dict[str, Any]


def default_class(classes: list[Obj]) -> str | None:
    defaults = [c for c in classes if is_default_class(c)]
    if not defaults:
        return None
    newest = max(
        defaults,
        key=lambda c: (str((c.get("metadata") or {}).get("creationTimestamp") or ""), c["metadata"]["name"]),
    )
    return str(newest["metadata"]["name"])


def _with_finalizer(obj: Obj, finalizer: str) -> Obj:
    meta = obj.setdefault("metadata", {})
    finalizers = list(meta.get("finalizers") or [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)
    meta["finalizers"] = finalizers
    return obj


def admit_claim(claim: Obj, classes: list[Obj]) -> Obj:
    """The claim to store: default class filled in, protection finalizer added; Invalid for an
    unknown class."""
    out = copy.deepcopy(claim)
    spec = out.setdefault("spec", {})
    if "storageClassName" not in spec or spec["storageClassName"] is None:
        name = default_class(classes)
        if name is not None:
            spec["storageClassName"] = name
    wanted = spec.get("storageClassName")
    if wanted and wanted not in {(c.get("metadata") or {}).get("name") for c in classes}:
        meta = out.get("metadata") or {}
        raise Invalid(
            "PersistentVolumeClaim",
            str(meta.get("name") or ""),
            [FieldError("spec.storageClassName", not_found("spec.storageClassName", wanted).message)],
        )
    out["status"] = {"phase": "Pending"}  # as Kubernetes' defaulting: the binder takes it from here
    return _with_finalizer(out, PVC_PROTECTION)


def admit_volume(volume: Obj) -> Obj:
    out = _with_finalizer(copy.deepcopy(volume), PV_PROTECTION)
    out["status"] = {"phase": "Pending"}
    return out


PVC_IMMUTABLE = (
    "spec is immutable after creation except resources.requests and volumeAttributesClassName "
    "for bound claims"
)
PVC_NO_RESIZE = (
    "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc "
    "must support resize"
)
STS_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
    "revisionHistoryLimit",
)
STS_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)
PV_SOURCES = ("hostPath", "local", "nfs", "cephfs")


def update_errors(resource: str, new: Obj, old: Obj | None) -> list[FieldError]:
    """What Kubernetes' update validation forbids for these kinds (empty: the update may go on).

    A claim's spec is fixed once created, but for the binder setting ``volumeName`` (and a class
    on a claim that had none); a volume's source is fixed; a StatefulSet may change only the
    fields :data:`STS_MUTABLE` names (its claim templates and selector are fixed)."""
    if old is None:
        return []
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    if resource == "persistentvolumeclaims":
        settable = {"volumeName", "storageClassName", "resources", "volumeAttributesClassName"}
        fixed_new = {k: v for k, v in new_spec.items() if k not in settable}
        fixed_old = {k: v for k, v in old_spec.items() if k not in settable}
        changed = fixed_new != fixed_old
        for key in ("volumeName", "storageClassName"):
            if old_spec.get(key) and new_spec.get(key) != old_spec.get(key):
                changed = True
        out = [FieldError("spec", f"Forbidden: {PVC_IMMUTABLE}")] if changed else []
        if (new_spec.get("resources") or {}) != (old_spec.get("resources") or {}):
            # no class jetkube provisions supports expansion
            out.append(FieldError("spec.resources.requests.storage", f"Forbidden: {PVC_NO_RESIZE}"))
        return out
    if resource == "persistentvolumes":
        if any(new_spec.get(k) != old_spec.get(k) for k in PV_SOURCES):
            return [
                FieldError(
                    "spec.persistentvolumesource",
                    "Forbidden: spec.persistentvolumesource is immutable after creation",
                )
            ]
        return []
    if resource == "statefulsets":
        fixed_new = {k: v for k, v in new_spec.items() if k not in STS_MUTABLE}
        fixed_old = {k: v for k, v in old_spec.items() if k not in STS_MUTABLE}
        return [FieldError("spec", f"Forbidden: {STS_FORBIDDEN}")] if fixed_new != fixed_old else []
    return []


def check_update(resource: str, new: Obj, old: Obj | None) -> None:
    """Raise Invalid (nothing written) when :func:`update_errors` finds anything."""
    errors = update_errors(resource, new, old)
    if errors:
        kinds = {
            "persistentvolumeclaims": "PersistentVolumeClaim",
            "persistentvolumes": "PersistentVolume",
            "statefulsets": "StatefulSet",
        }
        raise Invalid(kinds[resource], str((new.get("metadata") or {}).get("name") or ""), errors)
