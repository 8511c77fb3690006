"""kubectl's columns for PersistentVolumes, PersistentVolumeClaims, StorageClasses, StatefulSets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.printing.age import age

Obj = dict[str, Any]

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(key)
        if obj is None:
            return default
    return obj


def access_modes(modes: list[str] | None) -> str:
    """kubectl's GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order, each once."""
    given = set(modes or ())
    return ",".join(short for mode, short in _MODES.items() if mode in given)


def is_default_class(obj: Obj) -> bool:
    annotations = _get(obj, "metadata", "annotations", default={}) or {}
    return annotations.get(DEFAULT_CLASS_ANNOTATION) == "true" or (
        annotations.get("storageclass.beta.kubernetes.io/is-default-class") == "true"
    )


def _age(obj: Obj, now: datetime) -> str:
    return age(_get(obj, "metadata", "creationTimestamp"), now)


def _pv_claim(obj: Obj) -> str:
    ref = _get(obj, "spec", "claimRef")
    if not ref:
        return ""
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}"


def _vac(value: Any) -> str:
    return str(value) if value else "<unset>"


def _pvc_capacity(obj: Obj) -> str:
    if not _get(obj, "spec", "volumeName"):
        return ""
    return str(_get(obj, "status", "capacity", "storage", default=""))


def _pvc_modes(obj: Obj) -> str:
    if not _get(obj, "spec", "volumeName"):
        return ""
    return access_modes(_get(obj, "status", "accessModes"))


def _ready(obj: Obj) -> str:
    return f"{_get(obj, 'status', 'readyReplicas', default=0)}/{_get(obj, 'spec', 'replicas', default=0)}"


def _columns() -> dict[str, list[Any]]:
    from schemas.printing.columns import Column

    wide_images = [
        Column(
            "CONTAINERS",
            lambda o, n: ",".join(
                c.get("name", "") for c in _get(o, "spec", "template", "spec", "containers", default=[])
            ),
            True,
        ),
        Column(
            "IMAGES",
            lambda o, n: ",".join(
                c.get("image", "") for c in _get(o, "spec", "template", "spec", "containers", default=[])
            ),
            True,
        ),
    ]
    return {
        "persistentvolumes": [
            Column("CAPACITY", lambda o, n: str(_get(o, "spec", "capacity", "storage", default=""))),
            Column("ACCESS MODES", lambda o, n: access_modes(_get(o, "spec", "accessModes"))),
            Column(
                "RECLAIM POLICY",
                lambda o, n: str(_get(o, "spec", "persistentVolumeReclaimPolicy", default="")),
            ),
            Column("STATUS", lambda o, n: str(_get(o, "status", "phase", default=""))),
            Column("CLAIM", lambda o, n: _pv_claim(o)),
            Column("STORAGECLASS", lambda o, n: str(_get(o, "spec", "storageClassName", default=""))),
            Column("VOLUMEATTRIBUTESCLASS", lambda o, n: _vac(_get(o, "spec", "volumeAttributesClassName"))),
            Column("REASON", lambda o, n: str(_get(o, "status", "reason", default=""))),
            Column("AGE", _age),
            Column("VOLUMEMODE", lambda o, n: str(_get(o, "spec", "volumeMode", default="Filesystem")), True),
        ],
        "persistentvolumeclaims": [
            Column("STATUS", lambda o, n: str(_get(o, "status", "phase", default=""))),
            Column("VOLUME", lambda o, n: str(_get(o, "spec", "volumeName", default=""))),
            Column("CAPACITY", lambda o, n: _pvc_capacity(o)),
            Column("ACCESS MODES", lambda o, n: _pvc_modes(o)),
            Column("STORAGECLASS", lambda o, n: str(_get(o, "spec", "storageClassName", default=""))),
            Column("VOLUMEATTRIBUTESCLASS", lambda o, n: _vac(_get(o, "spec", "volumeAttributesClassName"))),
            Column("AGE", _age),
            Column("VOLUMEMODE", lambda o, n: str(_get(o, "spec", "volumeMode", default="Filesystem")), True),
        ],
        "storageclasses": [
            Column("PROVISIONER", lambda o, n: str(o.get("provisioner") or "")),
            Column("RECLAIMPOLICY", lambda o, n: str(o.get("reclaimPolicy") or "Delete")),
            Column("VOLUMEBINDINGMODE", lambda o, n: str(o.get("volumeBindingMode") or "Immediate")),
            Column("ALLOWVOLUMEEXPANSION", lambda o, n: "true" if o.get("allowVolumeExpansion") else "false"),
            Column("AGE", _age),
        ],
        "statefulsets": [
            Column(
                "READY",
                lambda o, n: _ready(o),
            ),
            Column("AGE", _age),
            *wide_images,
        ],
    }


STORAGE_TABLES = _columns()
