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
