"""apiVersion conversion: older group versions to the storage version and back.

Kubernetes decodes an object in the version it was written in, applies *that* version's defaults,
and converts it; the original apiVersion is recorded nowhere. jetkube does the same:
:func:`to_storage` (used by schemas.decode) applies the old version's defaults, then renames;
:func:`convert` serves ``jetkube convert`` in both directions.

Old-version defaults that differ from the storage version's:

- extensions/v1beta1 and apps/v1beta1 Deployment, extensions/v1beta1 ReplicaSet and DaemonSet: a
  missing ``spec.selector`` takes ``matchLabels`` = the template's labels, and missing
  ``metadata.labels`` take the template's labels too.
- extensions/v1beta1 Deployment: RollingUpdate maxSurge 1 / maxUnavailable 1;
  revisionHistoryLimit and progressDeadlineSeconds 2147483647 ("unset": keep all, no deadline).
  Kubernetes writes MaxInt32 for exactly this reason, so that the storage version's defaults
  (10 and 600) do not apply on conversion; jetkube follows it.
- apps/v1beta1 Deployment: revisionHistoryLimit 2.
- extensions/v1beta1 DaemonSet: updateStrategy OnDelete.

Version-only fields are dropped on the way up, as in Kubernetes: ``spec.rollbackTo`` (Deployment
rollback, removed in apps/v1) and ``spec.templateGeneration`` (DaemonSet).

Ingress (extensions/v1beta1, networking.k8s.io/v1beta1) moves fields both ways (DOWNGRADES):
``spec.backend`` is v1's ``spec.defaultBackend``, a backend's ``serviceName``/``servicePort`` are
``service.name``/``service.port.number`` (or ``.name`` for a named port), and a path's missing
``pathType`` is ImplementationSpecific, the old versions' default.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from schemas import autoscaling, registry
from schemas.errors import BadRequest

Obj = dict[str, Any]
MAX_INT32 = 2**31 - 1


def _spec(obj: Obj) -> Obj | None:
    spec = obj.get("spec")
    if spec is None:
        spec = obj["spec"] = {}
    return spec if isinstance(spec, dict) else None


def _selector_and_labels_from_template(obj: Obj, spec: Obj) -> None:
    tpl = spec.get("template")
    meta = tpl.get("metadata") if isinstance(tpl, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(labels, dict) or not labels:
        return
    if spec.get("selector") is None:
        spec["selector"] = {"matchLabels": dict(labels)}
    top = obj.get("metadata")
    if top is None:
        top = obj["metadata"] = {}
    if isinstance(top, dict) and not top.get("labels"):
        top["labels"] = dict(labels)


def _rolling(spec: Obj, surge: int | str, unavailable: int | str) -> None:
    strategy = spec.setdefault("strategy", {})
    if not isinstance(strategy, dict):
        return
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        if isinstance(ru, dict):
            ru.setdefault("maxUnavailable", unavailable)
            ru.setdefault("maxSurge", surge)


def _extensions_deployment(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    _selector_and_labels_from_template(obj, spec)
    spec.setdefault("replicas", 1)
    _rolling(spec, 1, 1)
    spec.setdefault("revisionHistoryLimit", MAX_INT32)
    spec.setdefault("progressDeadlineSeconds", MAX_INT32)
    spec.pop("rollbackTo", None)


def _apps_v1beta1_deployment(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    _selector_and_labels_from_template(obj, spec)
    spec.setdefault("replicas", 1)
    _rolling(spec, "25%", "25%")
    spec.setdefault("revisionHistoryLimit", 2)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.pop("rollbackTo", None)


def _extensions_replica_set(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    _selector_and_labels_from_template(obj, spec)
    spec.setdefault("replicas", 1)


def _extensions_daemon_set(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    _selector_and_labels_from_template(obj, spec)
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "OnDelete")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            if isinstance(ru, dict):
                ru.setdefault("maxUnavailable", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.pop("templateGeneration", None)


def _nothing(obj: Obj) -> None:
    return None


def _v1beta1_backend(backend: Any) -> Any:
    """``{serviceName, servicePort}`` -> ``{service: {name, port: {number | name}}}``."""
    if not isinstance(backend, dict) or "service" in backend:
        return backend
    out = {k: v for k, v in backend.items() if k not in ("serviceName", "servicePort")}
    if "serviceName" in backend or "servicePort" in backend:
        port = backend.get("servicePort")
        service: Obj = {"name": backend.get("serviceName")}
        if isinstance(port, str):
            service["port"] = {"name": port}
        elif port is not None:
            service["port"] = {"number": port}
        out["service"] = service
    return out


def _v1beta1_ingress(obj: Obj) -> None:
    """extensions/v1beta1 and networking.k8s.io/v1beta1 Ingress: ``spec.backend`` is
    ``spec.defaultBackend``, backends name ``serviceName``/``servicePort``, and a path's pathType
    defaults to ImplementationSpecific."""
    spec = _spec(obj)
    if spec is None:
        return
    if "backend" in spec:
        spec["defaultBackend"] = _v1beta1_backend(spec.pop("backend"))
    for rule in spec.get("rules") or ():
        http = rule.get("http") if isinstance(rule, dict) else None
        for path in (http.get("paths") or ()) if isinstance(http, dict) else ():
            if isinstance(path, dict):
                path.setdefault("pathType", "ImplementationSpecific")
                if "backend" in path:
                    path["backend"] = _v1beta1_backend(path["backend"])


def _v1_backend_down(backend: Any) -> Any:
    if not isinstance(backend, dict) or "service" not in backend:
        return backend
    out = {k: v for k, v in backend.items() if k != "service"}
    service = backend["service"] or {}
    port = service.get("port") or {}
    out["serviceName"] = service.get("name")
    out["servicePort"] = port.get("name") if port.get("name") else port.get("number")
    return out


def _ingress_to_v1beta1(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if "defaultBackend" in spec:
        spec["backend"] = _v1_backend_down(spec.pop("defaultBackend"))
    for rule in spec.get("rules") or ():
        for path in ((rule.get("http") or {}).get("paths") or ()) if isinstance(rule, dict) else ():
            if isinstance(path, dict) and "backend" in path:
                path["backend"] = _v1_backend_down(path["backend"])


#: (kind, old apiVersion) -> the old version's defaults and field moves, applied before renaming.
UPGRADES: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("Deployment", "extensions/v1beta1"): _extensions_deployment,
    ("Deployment", "apps/v1beta1"): _apps_v1beta1_deployment,
    ("Deployment", "apps/v1beta2"): _nothing,
    ("ReplicaSet", "extensions/v1beta1"): _extensions_replica_set,
    ("ReplicaSet", "apps/v1beta2"): _nothing,
    ("DaemonSet", "extensions/v1beta1"): _extensions_daemon_set,
    ("DaemonSet", "apps/v1beta2"): _nothing,
    ("CronJob", "batch/v1beta1"): _nothing,
    ("CronJob", "batch/v2alpha1"): _nothing,
    ("Ingress", "extensions/v1beta1"): _v1beta1_ingress,
    ("Ingress", "networking.k8s.io/v1beta1"): _v1beta1_ingress,
    ("HorizontalPodAutoscaler", "autoscaling/v1"): autoscaling.from_v1,
}

#: (kind, old apiVersion) -> field moves from the storage version down (``jetkube convert``).
DOWNGRADES: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("Ingress", "extensions/v1beta1"): _ingress_to_v1beta1,
    ("Ingress", "networking.k8s.io/v1beta1"): _ingress_to_v1beta1,
    ("HorizontalPodAutoscaler", "autoscaling/v1"): autoscaling.to_v1,
}


def to_storage(obj: Obj, info: registry.ResourceInfo) -> Obj:
    """Convert ``obj`` (owned by the caller, changed in place) from its served version to storage."""
    source = obj.get("apiVersion", "")
    if source != info.api_version:
        upgrade = UPGRADES.get((info.kind, source))
        if upgrade is None:
            raise BadRequest(registry.no_match_message(source, info.kind))
        upgrade(obj)
        obj["apiVersion"] = info.api_version
    return obj


def _downgrade(obj: Obj, target: str) -> Obj:
    # The older versions hold every field of the storage version that jetkube stores.
    downgrade = DOWNGRADES.get((str(obj.get("kind")), target))
    if downgrade is not None:
        downgrade(obj)
    obj["apiVersion"] = target
    return obj


def convert(obj: Obj, to_api_version: str) -> Obj:
    """A copy of ``obj`` in ``to_api_version`` (``jetkube convert``). BadRequest when not served."""
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if not api_version or not kind:
        raise BadRequest("Object 'apiVersion' and 'kind' must be set")
    info, served = registry.by_api_version_kind(api_version, kind)
    if not served:
        raise BadRequest(registry.no_match_message(api_version, kind))
    if to_api_version not in info.served:
        raise BadRequest(registry.no_match_message(to_api_version, kind))
    out = to_storage(copy.deepcopy(obj), info)
    if to_api_version != info.api_version:
        _downgrade(out, to_api_version)
    return out
