"""Which top-level fields are status and which are spec, per kind.

The api actor keeps status writes (``update_status``) and spec writes apart: a status write takes only
``status`` from the request, a spec write keeps the stored ``status``. Kinds without a status
subresource (ConfigMap, Secret, Event, Endpoints, LimitRange, Lease) have everything as spec.
"""

from __future__ import annotations

from typing import Any

from schemas.registry import BY_KIND

#: The top-level fields besides apiVersion/kind/metadata/status that each kind writes as its spec.
SPEC_FIELDS: dict[str, tuple[str, ...]] = {
    "ConfigMap": ("data", "binaryData", "immutable"),
    "Secret": ("data", "stringData", "type", "immutable"),
    "Endpoints": ("subsets",),
    "Event": (
        "involvedObject",
        "reason",
        "message",
        "source",
        "firstTimestamp",
        "lastTimestamp",
        "count",
        "type",
        "eventTime",
        "series",
        "action",
        "related",
        "reportingComponent",
        "reportingInstance",
    ),
}


def has_status(kind: str) -> bool:
    info = BY_KIND.get(kind)
    return bool(info and info.has_status)


def spec_fields(kind: str) -> tuple[str, ...]:
    return SPEC_FIELDS.get(kind, ("spec",))


def split_status(kind: str, obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(obj without status, status)``; status is None for kinds without one or when absent.

    Shallow: the returned dicts share nested values with ``obj``.
    """
    if not has_status(kind):
        return dict(obj), None
    rest = {k: v for k, v in obj.items() if k != "status"}
    return rest, obj.get("status")


def with_status(kind: str, obj: dict[str, Any], status: dict[str, Any] | None) -> dict[str, Any]:
    """A shallow copy of ``obj`` whose status is ``status`` (removed when None)."""
    out = {k: v for k, v in obj.items() if k != "status"}
    if status is not None and has_status(kind):
        out["status"] = status
    return out
