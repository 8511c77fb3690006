"""What ``describe`` prints for PersistentVolumes, claims, StorageClasses and StatefulSets (kubectl's
``PersistentVolumeDescriber``, ``PersistentVolumeClaimDescriber``, ``StorageClassDescriber``,
``StatefulSetDescriber``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cli.describe.kinds import _pod_template, _pods_status
from cli.describe.writer import Writer
from cli.printers.columns import format_selector
from schemas.printing.storage import access_modes, is_default_class

Obj = dict[str, Any]
_SOURCES = {
    "hostPath": "HostPath (bare host directory volume)",
    "local": "LocalVolume (a persistent volume backed by local storage on a node)",
    "nfs": "NFS (an NFS mount that lasts the lifetime of a pod)",
    "cephfs": "CephFS (a CephFS mount on the host that shares a pod's lifetime)",
}


def _finalizers(w: Writer, obj: Obj, width: int) -> None:
    w.kv(0, "Finalizers", f"[{', '.join((obj.get('metadata') or {}).get('finalizers') or [])}]", width)


def _node_affinity(w: Writer, spec: Obj) -> None:
    terms = (((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms")) or []
    if not terms:
        w.kv(0, "Node Affinity", "<none>", 17)
        return
    w.kv(0, "Node Affinity")
    w.kv(1, "Required Terms")
    for term in terms:
        exprs = [
            f"{e.get('key')} {e.get('operator', '').lower()} [{', '.join(e.get('values') or [])}]"
            for e in term.get("matchExpressions") or []
        ]
        w.kv(2, "Term 0", ", ".join(exprs) or "<none>", 8)


def describe_persistent_volume(w: Writer, obj: Obj, ctx: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    width = 17
    meta = obj.get("metadata") or {}
    w.kv(0, "Name", meta.get("name"), width)
    w.map(0, "Labels", meta.get("labels"), width)
    w.map(0, "Annotations", meta.get("annotations"), width)
    _finalizers(w, obj, width)
    w.kv(0, "StorageClass", spec.get("storageClassName") or "", width)
    w.kv(0, "Status", status.get("phase"), width)
    ref = spec.get("claimRef") or {}
    w.kv(0, "Claim", f"{ref.get('namespace')}/{ref.get('name')}" if ref else "", width)
    w.kv(0, "Reclaim Policy", spec.get("persistentVolumeReclaimPolicy"), width)
    w.kv(0, "Access Modes", access_modes(spec.get("accessModes")), width)
    w.kv(0, "VolumeMode", spec.get("volumeMode") or "Filesystem", width)
    w.kv(0, "Capacity", (spec.get("capacity") or {}).get("storage"), width)
    _node_affinity(w, spec)
    w.kv(0, "Message", status.get("message") or "", width)
    w.kv(0, "Source")
    for key, title in _SOURCES.items():
        source = spec.get(key)
        if source is None:
            continue
        w.kv(1, "Type", title, 15)
        for field, value in sorted(source.items()):
            label = "HostPathType" if (key, field) == ("hostPath", "type") else field[0].upper() + field[1:]
            w.kv(1, label, value, 15)


def describe_persistent_volume_claim(w: Writer, obj: Obj, ctx: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    width = 15
    meta = obj.get("metadata") or {}
    w.kv(0, "Name", meta.get("name"), width)
    w.kv(0, "Namespace", meta.get("namespace"), width)
    w.kv(0, "StorageClass", spec.get("storageClassName") or "", width)
    w.kv(0, "Status", status.get("phase"), width)
    w.kv(0, "Volume", spec.get("volumeName") or "", width)
    w.map(0, "Labels", meta.get("labels"), width)
    w.map(0, "Annotations", meta.get("annotations"), width)
    _finalizers(w, obj, width)
    bound = bool(spec.get("volumeName"))
    w.kv(0, "Capacity", (status.get("capacity") or {}).get("storage", "") if bound else "", width)
    w.kv(0, "Access Modes", access_modes(status.get("accessModes")) if bound else "", width)
    w.kv(0, "VolumeMode", spec.get("volumeMode") or "Filesystem", width)
    users = [str((p.get("metadata") or {}).get("name")) for p in ctx.get("pods") or []]
    w.kv(0, "Used By", "\n".join(users) if users else "<none>", width)


def describe_storage_class(w: Writer, obj: Obj, ctx: Obj) -> None:
    width = 23
    meta = obj.get("metadata") or {}
    w.kv(0, "Name", meta.get("name"), width)
    w.kv(0, "IsDefaultClass", "Yes" if is_default_class(obj) else "No", width)
    w.map(0, "Annotations", meta.get("annotations"), width)
    w.kv(0, "Provisioner", obj.get("provisioner"), width)
    params = obj.get("parameters") or {}
    w.kv(0, "Parameters", ",".join(f"{k}={v}" for k, v in sorted(params.items())) or "<none>", width)
    allow = obj.get("allowVolumeExpansion")
    w.kv(0, "AllowVolumeExpansion", "<unset>" if allow is None else str(allow), width)
    w.kv(0, "MountOptions", ", ".join(obj.get("mountOptions") or []) or "<none>", width)
    w.kv(0, "ReclaimPolicy", obj.get("reclaimPolicy") or "Delete", width)
    w.kv(0, "VolumeBindingMode", obj.get("volumeBindingMode") or "Immediate", width)


def describe_stateful_set(w: Writer, obj: Obj, ctx: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    width = 20
    meta = obj.get("metadata") or {}
    w.kv(0, "Name", meta.get("name"), width)
    w.kv(0, "Namespace", meta.get("namespace"), width)
    w.kv(0, "CreationTimestamp", meta.get("creationTimestamp"), width)
    w.kv(0, "Selector", format_selector(spec.get("selector")), width)
    w.map(0, "Labels", meta.get("labels"), width)
    w.map(0, "Annotations", meta.get("annotations"), width)
    w.kv(0, "Replicas", f"{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} total", width)
    strategy = spec.get("updateStrategy") or {}
    w.kv(0, "Update Strategy", strategy.get("type") or "RollingUpdate", width)
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    if partition is not None:
        w.kv(1, "Partition", partition, width - 2)
    w.kv(0, "Pods Status", _pods_status(ctx.get("pods") or []), width)
    _pod_template(w, spec.get("template") or {})
    templates = spec.get("volumeClaimTemplates") or []
    w.kv(0, "Volume Claims", "" if templates else "<none>")
    for t in templates:
        tmeta, tspec = t.get("metadata") or {}, t.get("spec") or {}
        w.kv(1, "Name", tmeta.get("name"), 15)
        w.kv(1, "StorageClass", tspec.get("storageClassName") or "", 15)
        w.map(1, "Labels", tmeta.get("labels"), 15)
        w.map(1, "Annotations", tmeta.get("annotations"), 15)
        w.kv(1, "Capacity", ((tspec.get("resources") or {}).get("requests") or {}).get("storage"), 15)
        w.kv(1, "Access Modes", f"[{' '.join(tspec.get('accessModes') or [])}]", 15)


STORAGE_DESCRIBERS: dict[str, Callable[[Writer, Obj, Obj], None]] = {
    "persistentvolumes": describe_persistent_volume,
    "persistentvolumeclaims": describe_persistent_volume_claim,
    "storageclasses": describe_storage_class,
    "statefulsets": describe_stateful_set,
}
