"""Rules for PersistentVolume, PersistentVolumeClaim (core/v1), StorageClass (storage.k8s.io/v1)
and StatefulSet (apps/v1), in Kubernetes' words (pkg/apis/core/validation, storage/validation,
apps/validation).

Whether a claim's StorageClass exists is not a rule of the object alone: the api's admission
checks it (actors/admission/storage.py).
"""

from __future__ import annotations

import copy
from typing import Any

from schemas import names, quantity
from schemas.errors import FieldError
from schemas.labels import selector_from_dict
from schemas.validation.errors import forbidden, invalid, required, unsupported
from schemas.validation.meta import object_meta_errors, selector_dict_errors
from schemas.validation.pod import non_negative, template_errors
from schemas.validation.scheduling import node_selector_term_errors

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
CLASS_RECLAIM_POLICIES = ("Delete", "Retain")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
VOLUME_MODES = ("Block", "Filesystem")
PV_SOURCES = ("hostPath", "local", "nfs", "cephfs")
POD_MANAGEMENT = ("OrderedReady", "Parallel")
STS_STRATEGIES = ("OnDelete", "RollingUpdate")
RETENTION = ("Delete", "Retain")
POSITIVE = "must be greater than zero"


def _meta(obj: dict[str, Any], out: list[FieldError], *, namespaced: bool) -> None:
    object_meta_errors(
        obj.get("metadata"), namespaced=namespaced, name_check=names.dns1123_subdomain_errors, out=out
    )


def _access_modes(modes: list[str] | None, path: str, out: list[FieldError]) -> None:
    if not modes:
        out.append(required(path, "at least 1 access mode is required"))
        return
    for mode in modes:
        if mode not in ACCESS_MODES:
            out.append(unsupported(path, mode, ACCESS_MODES))
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        out.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))


def _class_name(value: str | None, path: str, out: list[FieldError]) -> None:
    if value:
        for msg in names.dns1123_subdomain_errors(value):
            out.append(invalid(path, value, msg))


def _quantity_value(q: Any) -> Any:
    try:
        return quantity.parse(q)
    except quantity.QuantityError:
        return None


def _node_affinity(na: dict[str, Any] | None, path: str, out: list[FieldError]) -> None:
    if not na:
        return
    req = na.get("required")
    if req is None:
        out.append(required(f"{path}.required"))
        return
    terms = req.get("nodeSelectorTerms") or []
    if not terms:
        out.append(
            required(f"{path}.required.nodeSelectorTerms", "must have at least one node selector term")
        )
    for i, term in enumerate(terms):
        node_selector_term_errors(term, f"{path}.required.nodeSelectorTerms[{i}]", out)


def _absolute(value: str | None, path: str, out: list[FieldError]) -> None:
    if not value:
        out.append(required(path))
    elif not value.startswith("/"):
        out.append(invalid(path, value, "must be an absolute path"))
    elif ".." in value.split("/"):
        out.append(invalid(path, value, "must not contain '..'"))


def persistent_volume_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out, namespaced=False)
    spec = obj.get("spec") or {}
    _access_modes(spec.get("accessModes"), "spec.accessModes", out)
    capacity = spec.get("capacity") or {}
    if not capacity:
        out.append(required("spec.capacity"))
    elif "storage" not in capacity or len(capacity) != 1:
        out.append(unsupported("spec.capacity", sorted(capacity), ["storage"]))
    else:
        value = _quantity_value(capacity["storage"])
        if value is not None and value < 0:
            out.append(
                invalid("spec.capacity[storage]", capacity["storage"], "must be greater than or equal to 0")
            )
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy is not None and policy not in RECLAIM_POLICIES:
        out.append(unsupported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES))
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        out.append(unsupported("spec.volumeMode", mode, VOLUME_MODES))
    _class_name(spec.get("storageClassName"), "spec.storageClassName", out)
    _node_affinity(spec.get("nodeAffinity"), "spec.nodeAffinity", out)
    given = [k for k in PV_SOURCES if spec.get(k) is not None]
    if not given:
        out.append(required("spec", "must specify a volume type"))
    for extra in given[1:]:
        out.append(forbidden(f"spec.{extra}", "may not specify more than 1 volume type"))
    if "hostPath" in given:
        _absolute((spec["hostPath"] or {}).get("path"), "spec.hostPath.path", out)
    if "local" in given:
        _absolute((spec["local"] or {}).get("path"), "spec.local.path", out)
        if not spec.get("nodeAffinity"):
            out.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    if "nfs" in given:
        nfs = spec["nfs"] or {}
        if not nfs.get("server"):
            out.append(required("spec.nfs.server"))
        _absolute(nfs.get("path"), "spec.nfs.path", out)
    if "cephfs" in given and not (spec["cephfs"] or {}).get("monitors"):
        out.append(required("spec.cephfs.monitors"))
    claim = spec.get("claimRef")
    if claim is not None and not claim.get("name"):
        out.append(required("spec.claimRef.name"))


def claim_spec_errors(spec: dict[str, Any], path: str, out: list[FieldError]) -> None:
    """ValidatePersistentVolumeClaimSpec (also used for a StatefulSet's volumeClaimTemplates)."""
    _access_modes(spec.get("accessModes"), f"{path}.accessModes", out)
    sel = spec.get("selector")
    if sel is not None:
        selector_dict_errors(sel, f"{path}.selector", out)
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests:
        out.append(required(f"{path}.resources[storage]"))
    else:
        value = _quantity_value(requests["storage"])
        if value is not None and value <= 0:
            out.append(invalid(f"{path}.resources[storage]", requests["storage"], POSITIVE))
    _class_name(spec.get("storageClassName"), f"{path}.storageClassName", out)
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        out.append(unsupported(f"{path}.volumeMode", mode, VOLUME_MODES))


def persistent_volume_claim_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out, namespaced=True)
    claim_spec_errors(obj.get("spec") or {}, "spec", out)


def storage_class_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out, namespaced=False)
    provisioner = obj.get("provisioner")
    if not provisioner:
        out.append(required("provisioner"))
    else:
        for msg in names.qualified_name_errors(provisioner):
            out.append(invalid("provisioner", provisioner, msg))
    policy = obj.get("reclaimPolicy")
    if policy is not None and policy not in CLASS_RECLAIM_POLICIES:
        out.append(unsupported("reclaimPolicy", policy, CLASS_RECLAIM_POLICIES))
    mode = obj.get("volumeBindingMode")
    if mode is not None and mode not in BINDING_MODES:
        out.append(unsupported("volumeBindingMode", mode, BINDING_MODES))


def stateful_set_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out, namespaced=True)
    spec = obj.get("spec") or {}
    non_negative(spec.get("replicas"), "spec.replicas", out)
    non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds", out)
    non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", out)
    policy = spec.get("podManagementPolicy")
    if policy is not None and policy not in POD_MANAGEMENT:
        out.append(unsupported("spec.podManagementPolicy", policy, POD_MANAGEMENT))
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type")
    if stype is not None and stype not in STS_STRATEGIES:
        out.append(unsupported("spec.updateStrategy.type", stype, STS_STRATEGIES))
    elif stype == "OnDelete" and strategy.get("rollingUpdate") is not None:
        out.append(
            invalid(
                "spec.updateStrategy.rollingUpdate",
                strategy["rollingUpdate"],
                "only allowed for updateStrategy 'RollingUpdate'",
            )
        )
    else:
        non_negative(
            (strategy.get("rollingUpdate") or {}).get("partition"),
            "spec.updateStrategy.rollingUpdate.partition",
            out,
        )
    retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    for key in ("whenDeleted", "whenScaled"):
        value = retention.get(key)
        if value is not None and value not in RETENTION:
            out.append(unsupported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", value, RETENTION))
    service = spec.get("serviceName")
    if service:
        for msg in names.dns1123_label_errors(service):
            out.append(invalid("spec.serviceName", service, msg))
    sel = spec.get("selector")
    if sel is None:
        out.append(required("spec.selector"))
    elif not sel.get("matchLabels") and not sel.get("matchExpressions"):
        out.append(invalid("spec.selector", sel, "empty selector is invalid for statefulset"))
    else:
        n = len(out)
        selector_dict_errors(sel, "spec.selector", out)
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if len(out) == n and not selector_from_dict(sel).matches(labels):
            out.append(
                invalid(
                    "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
                )
            )
    template = spec.get("template")
    claim_volumes = [
        {"name": (c.get("metadata") or {}).get("name"), "persistentVolumeClaim": {"claimName": "template"}}
        for c in spec.get("volumeClaimTemplates") or ()
        if (c.get("metadata") or {}).get("name")
    ]
    if template is not None and claim_volumes:
        # the pods mount their claims under the templates' names: count them as volumes, as Kubernetes
        template = copy.deepcopy(template)
        tspec = template.setdefault("spec", {})
        tspec["volumes"] = list(tspec.get("volumes") or []) + claim_volumes
    template_errors(template, "spec.template", out, restart_policies=("Always",))
    for i, claim in enumerate(spec.get("volumeClaimTemplates") or ()):
        cpath = f"spec.volumeClaimTemplates[{i}]"
        cname = (claim.get("metadata") or {}).get("name")
        if not cname:
            out.append(required(f"{cpath}.metadata.name"))
        else:
            for msg in names.dns1123_label_errors(cname):
                out.append(invalid(f"{cpath}.metadata.name", cname, msg))
        claim_spec_errors(claim.get("spec") or {}, f"{cpath}.spec", out)
