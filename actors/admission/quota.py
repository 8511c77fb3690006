"""ResourceQuota: what an object costs, what a namespace uses, and the admission check. Pure.

Resource names a quota may hold in ``spec.hard``, as Kubernetes:

- object counts: ``pods``, ``services``, ``configmaps``, ``secrets``, ``replicationcontrollers``,
  ``resourcequotas``, ``persistentvolumeclaims``, ``services.nodeports``,
  ``services.loadbalancers``, and ``count/<resource>[.<group>]`` for any resource
  (``count/deployments.apps``, ``count/jobs.batch``, ``count/pods``);
- storage, summed over the claims: ``requests.storage`` and, per class,
  ``<class>.storageclass.storage.k8s.io/requests.storage`` and
  ``<class>.storageclass.storage.k8s.io/persistentvolumeclaims``;
- compute, summed over the pods that are not finished (phase neither Succeeded nor Failed):
  ``requests.cpu``, ``requests.memory``, ``limits.cpu``, ``limits.memory`` (and any other
  ``requests.X``/``limits.X``), ``cpu``/``memory``/``ephemeral-storage`` meaning the requests.

``spec.scopes`` (``Terminating``, ``NotTerminating``, ``BestEffort``, ``NotBestEffort``) restrict a
quota to the pods they match.

Admission is Kubernetes' quota admission: the api actor calls :func:`check_quota` with the
namespace's quotas, and for each quota whose usage changes it gets the new ``status.used``, which it
writes to the quota with compare-and-set *before* writing the object. Two api replicas admitting at
once then conflict on the quota and one retries, so a quota is never overrun. A quota whose
``status.used`` does not yet cover a resource (the quota controller has not run) refuses, as
Kubernetes does, unless the api passes the usage it computed with :func:`compute_usage`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from actors.admission.quantities import every_container_has, format_quantity, parse, pod_resources
from schemas.errors import Forbidden

COMPUTE = ("cpu", "memory", "ephemeral-storage")
CLASS_QUOTA = ".storageclass.storage.k8s.io/"
STORAGE_CLASS_SUFFIXES = (f"{CLASS_QUOTA}requests.storage", f"{CLASS_QUOTA}persistentvolumeclaims")
CORE_COUNTS = {
    "pods",
    "services",
    "configmaps",
    "secrets",
    "replicationcontrollers",
    "resourcequotas",
    "persistentvolumeclaims",
}


def resource_for_key(key: str) -> str | None:
    """Which resource (plural) a quota key counts: ``requests.cpu`` -> ``pods``."""
    if key.startswith("count/"):
        return key[len("count/") :].split(".", 1)[0]
    if key in CORE_COUNTS:
        return key
    if key == "requests.storage" or key.endswith(STORAGE_CLASS_SUFFIXES):
        return "persistentvolumeclaims"
    if key.startswith("services."):
        return "services"
    if key in COMPUTE or key.startswith(("requests.", "limits.")):
        return "pods"
    return None


def _group_resource(resource: str) -> str:
    try:
        from schemas.registry import lookup

        return lookup(resource).group_resource
    except Exception:
        return resource


def is_pod_counted(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _is_best_effort(pod: Mapping[str, Any]) -> bool:
    for c in (pod.get("spec") or {}).get("containers") or []:
        res = c.get("resources") or {}
        if res.get("requests") or res.get("limits"):
            return False
    return True


def matches_scopes(quota: Mapping[str, Any], resource: str, obj: Mapping[str, Any]) -> bool:
    scopes = (quota.get("spec") or {}).get("scopes") or []
    if not scopes:
        return True
    if resource != "pods":
        return False
    spec = obj.get("spec") or {}
    for scope in scopes:
        if scope == "Terminating" and spec.get("activeDeadlineSeconds") is None:
            return False
        if scope == "NotTerminating" and spec.get("activeDeadlineSeconds") is not None:
            return False
        if scope == "BestEffort" and not _is_best_effort(obj):
            return False
        if scope == "NotBestEffort" and _is_best_effort(obj):
            return False
    return True


def object_usage(resource: str, obj: Mapping[str, Any] | None) -> dict[str, Fraction]:
    """Every quota key ``obj`` counts towards, with its amount."""
    if obj is None:
        return {}
    one = Fraction(1)
    usage: dict[str, Fraction] = {f"count/{_group_resource(resource)}": one}
    if resource in CORE_COUNTS:
        usage[resource] = one
    if resource == "pods":
        if not is_pod_counted(obj):
            return {}
        for name, value in pod_resources(obj, "requests").items():
            usage[f"requests.{name}"] = value
            if name in COMPUTE:
                usage[name] = value
        for name, value in pod_resources(obj, "limits").items():
            usage[f"limits.{name}"] = value
    elif resource == "persistentvolumeclaims":
        spec = obj.get("spec") or {}
        storage = parse(((spec.get("resources") or {}).get("requests") or {}).get("storage") or 0)
        usage["requests.storage"] = storage
        klass = spec.get("storageClassName")
        if klass:
            usage[f"{klass}{CLASS_QUOTA}requests.storage"] = storage
            usage[f"{klass}{CLASS_QUOTA}persistentvolumeclaims"] = one
    elif resource == "services":
        spec = obj.get("spec") or {}
        svc_type = spec.get("type") or "ClusterIP"
        if svc_type in ("NodePort", "LoadBalancer"):
            usage["services.nodeports"] = Fraction(len(spec.get("ports") or []))
        usage["services.loadbalancers"] = Fraction(1 if svc_type == "LoadBalancer" else 0)
    return usage


def _parsed(values: Mapping[str, Any] | None) -> dict[str, Fraction]:
    return {k: parse(v) for k, v in (values or {}).items()}


def _pretty(values: Mapping[str, Fraction]) -> str:
    return ",".join(f"{k}={format_quantity(values[k])}" for k in sorted(values))


def compute_usage(quota: Mapping[str, Any], objects: Mapping[str, list[dict[str, Any]]]) -> dict[str, str]:
    """``status.used`` for ``quota``, from the current objects of its namespace by resource."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    namespace = (quota.get("metadata") or {}).get("namespace")
    totals: dict[str, Fraction] = {k: Fraction(0) for k in hard}
    for resource in {r for r in (resource_for_key(k) for k in hard) if r}:
        for obj in objects.get(resource, []):
            if namespace and ((obj.get("metadata") or {}).get("namespace") or namespace) != namespace:
                continue
            if not matches_scopes(quota, resource, obj):
                continue
            for k, v in object_usage(resource, obj).items():
                if k in totals:
                    totals[k] += v
    return {k: format_quantity(v) for k, v in totals.items()}


def quota_status(quota: Mapping[str, Any], objects: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The whole ``status`` the quota controller writes."""
    return {"hard": dict((quota.get("spec") or {}).get("hard") or {}), "used": compute_usage(quota, objects)}


def _missing_constraints(hard: Mapping[str, Any], pod: Mapping[str, Any]) -> list[str]:
    missing = []
    for key in sorted(hard):
        if key in COMPUTE:
            section, name = "requests", key
        elif key.startswith(("requests.", "limits.")):
            section, name = key.split(".", 1)
        else:
            continue
        if not every_container_has(pod, section, name):
            missing.append(f"{section}.{name}")
    return sorted(set(missing))


def check_quota(
    quotas: list[dict[str, Any]],
    usage: Mapping[str, Mapping[str, Any]] | None,
    new_obj: dict[str, Any],
    old_obj: dict[str, Any] | None,
    *,
    resource: str,
) -> dict[str, dict[str, str]]:
    """Admit ``new_obj`` (created, or updated from ``old_obj``) against the namespace's quotas.

    ``usage`` maps a quota's name to its current used amounts; a quota not in it is taken at its
    ``status.used``. Returns the new ``status.used`` of each quota the object changes (the api
    writes them before the object). Raises Forbidden with Kubernetes' text when a quota is exceeded
    or a pod lacks a request or limit a quota tracks.
    """
    meta = new_obj.get("metadata") or {}
    prefix = f'{resource} "{meta.get("name", "")}" is forbidden: '
    delta = object_usage(resource, new_obj)
    for k, v in object_usage(resource, old_obj).items():
        delta[k] = delta.get(k, Fraction(0)) - v
    updates: dict[str, dict[str, str]] = {}
    for quota in sorted(quotas, key=lambda q: (q.get("metadata") or {}).get("name", "")):
        qname = (quota.get("metadata") or {}).get("name", "")
        hard_raw = (quota.get("spec") or {}).get("hard") or {}
        if not matches_scopes(quota, resource, new_obj):
            continue
        if resource == "pods" and old_obj is None and is_pod_counted(new_obj):
            missing = _missing_constraints(hard_raw, new_obj)
            if missing:
                raise Forbidden(f"{prefix}failed quota: {qname}: must specify {','.join(missing)}")
        hard = _parsed(hard_raw)
        changed = {k: v for k, v in delta.items() if k in hard and v != 0}
        if not changed:
            continue
        used_raw = (usage or {}).get(qname)
        if used_raw is None:
            used_raw = (quota.get("status") or {}).get("used") or {}
        used = _parsed(used_raw)
        for k in sorted(changed):
            if k not in used:
                raise Forbidden(f"{prefix}status unknown for quota: {qname}, resource: {k}")
        new_used = dict(used)
        for k, v in changed.items():
            new_used[k] = used[k] + v
        exceeded = sorted(k for k, v in changed.items() if v > 0 and new_used[k] > hard[k])
        if exceeded:
            raise Forbidden(
                f"{prefix}exceeded quota: {qname}, "
                f"requested: {_pretty({k: changed[k] for k in exceeded})}, "
                f"used: {_pretty({k: used[k] for k in exceeded})}, "
                f"limited: {_pretty({k: hard[k] for k in exceeded})}"
            )
        formatted = copy.deepcopy(dict(used_raw))
        formatted.update({k: format_quantity(max(new_used[k], Fraction(0))) for k in changed})
        updates[qname] = formatted
    return updates
