"""LimitRange admission (Kubernetes' ``LimitRanger`` plugin), pure: defaults, then min/max/ratio.

For a pod being created, each LimitRange of its namespace applies, in order:

1. defaults, item type ``Container``: a container's missing ``limits.X`` comes from ``default``, its
   missing ``requests.X`` from ``defaultRequest`` (which itself defaults to ``default``, as the
   LimitRange's own defaulting does). What was set is recorded in the pod's annotation
   ``kubernetes.io/limit-ranger``, as Kubernetes does;
2. checks, item type ``Container`` per container and ``Pod`` on the pod's sums: ``min`` (request and
   limit at least), ``max`` (limit and request at most; a missing limit is refused),
   ``maxLimitRequestRatio`` (limit / request at most).

Violations raise Forbidden with Kubernetes' words: ``pods "x" is forbidden: maximum cpu usage per
Container is 1, but limit is 2`` (several are listed in brackets, comma-separated). The api
actor calls :func:`apply_limit_ranges` before the quota check, so quotas see the defaulted pod.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any

from actors.admission.quantities import format_quantity, parse, pod_resources
from schemas.errors import Forbidden

ANNOTATION = "kubernetes.io/limit-ranger"


def _items(limit_ranges: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        item
        for lr in limit_ranges
        for item in (lr.get("spec") or {}).get("limits") or []
        if (item.get("type") or "Container") == kind
    ]


def _text(raw: dict[str, Any], name: str, value: Fraction) -> str:
    """The quantity as the user wrote it when there is one, else in canonical form."""
    original = raw.get(name)
    return str(original) if original is not None else format_quantity(value)


def _check(
    kind: str,
    item: dict[str, Any],
    requests_raw: dict[str, Any],
    limits_raw: dict[str, Any],
    requests: dict[str, Fraction],
    limits: dict[str, Fraction],
) -> list[str]:
    errors: list[str] = []
    for name, enforced_raw in (item.get("min") or {}).items():
        enforced = parse(enforced_raw)
        if name not in requests:
            errors.append(f"minimum {name} usage per {kind} is {enforced_raw}.  No request is specified")
        elif requests[name] < enforced:
            errors.append(
                f"minimum {name} usage per {kind} is {enforced_raw}, "
                f"but request is {_text(requests_raw, name, requests[name])}"
            )
        elif name in limits and limits[name] < enforced:
            errors.append(
                f"minimum {name} usage per {kind} is {enforced_raw}, "
                f"but limit is {_text(limits_raw, name, limits[name])}"
            )
    for name, enforced_raw in (item.get("max") or {}).items():
        enforced = parse(enforced_raw)
        if name not in limits:
            errors.append(f"maximum {name} usage per {kind} is {enforced_raw}.  No limit is specified")
        elif limits[name] > enforced:
            errors.append(
                f"maximum {name} usage per {kind} is {enforced_raw}, "
                f"but limit is {_text(limits_raw, name, limits[name])}"
            )
        elif name in requests and requests[name] > enforced:
            errors.append(
                f"maximum {name} usage per {kind} is {enforced_raw}, "
                f"but request is {_text(requests_raw, name, requests[name])}"
            )
    for name, enforced_raw in (item.get("maxLimitRequestRatio") or {}).items():
        enforced = parse(enforced_raw)
        req, lim = requests.get(name, Fraction(0)), limits.get(name, Fraction(0))
        if req == 0:
            errors.append(
                f"{name} max limit to request ratio per {kind} is {enforced_raw}, "
                "but no request is specified or request is 0"
            )
        elif lim == 0:
            errors.append(
                f"{name} max limit to request ratio per {kind} is {enforced_raw}, "
                "but no limit is specified or limit is 0"
            )
        elif lim / req > enforced:
            errors.append(
                f"{name} max limit to request ratio per {kind} is {enforced_raw}, "
                f"but provided ratio is {float(lim / req):f}"
            )
    return errors


def _apply_defaults(pod: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    notes: list[str] = []
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        resources = container.setdefault("resources", {})
        set_requests: list[str] = []
        set_limits: list[str] = []
        for item in items:
            default = item.get("default") or {}
            default_request = {**default, **(item.get("defaultRequest") or {})}
            for name, value in default.items():
                limits = resources.setdefault("limits", {})
                if name not in limits:
                    limits[name] = value
                    set_limits.append(name)
            for name, value in default_request.items():
                requests = resources.setdefault("requests", {})
                if name not in requests:
                    requests[name] = value
                    set_requests.append(name)
        for section in ("limits", "requests"):
            if section in resources and not resources[section]:
                del resources[section]
        cname = container.get("name", "")
        if set_requests:
            notes.append(f"{', '.join(sorted(set_requests))} request for container {cname}")
        if set_limits:
            notes.append(f"{', '.join(sorted(set_limits))} limit for container {cname}")
    return notes


def apply_limit_ranges(pod: dict[str, Any], limit_ranges: list[dict[str, Any]]) -> dict[str, Any]:
    """The pod with LimitRange defaults applied (a new dict). Raises Forbidden on a violation."""
    if not limit_ranges:
        return pod
    out = copy.deepcopy(pod)
    container_items = _items(limit_ranges, "Container")
    notes = _apply_defaults(out, container_items)
    if notes:
        annotations = out.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)

    errors: list[str] = []
    spec = out.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        resources = container.get("resources") or {}
        requests_raw = resources.get("requests") or {}
        limits_raw = resources.get("limits") or {}
        requests = {k: parse(v) for k, v in requests_raw.items()}
        limits = {k: parse(v) for k, v in limits_raw.items()}
        for item in container_items:
            errors.extend(_check("Container", item, requests_raw, limits_raw, requests, limits))
    pod_items = _items(limit_ranges, "Pod")
    if pod_items:
        requests, limits = pod_resources(out, "requests"), pod_resources(out, "limits")
        for item in pod_items:
            errors.extend(_check("Pod", item, {}, {}, requests, limits))
    if errors:
        name = (out.get("metadata") or {}).get("name", "")
        detail = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        raise Forbidden(f'pods "{name}" is forbidden: {detail}')
    return out
