"""What the dashboard shows of an object: one row per object, built from kubectl's own columns.

Pure functions, no I/O. A row carries the cells of the columns ``jetkube get`` prints for that kind
(:mod:`schemas.printing.columns`, shared with the CLI, so the page and the terminal agree), plus
the few fields the page acts on: the key it is stored under, a tone for colouring its status, the
desired replicas of a controller it can scale, a pod's node and containers for its logs.

AGE cells are computed at ``now``; each row also carries ``created`` so that the page can keep the
ages current between changes without asking the server again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from schemas.printing.columns import Column, columns_for, node_status
from schemas.printing.podstatus import pod_status_reason

Obj = dict[str, Any]

# What the page's Workloads view lists, in this order (kinds the registry lacks are skipped).
WORKLOADS = (
    "deployments",
    "replicasets",
    "replicationcontrollers",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
    "horizontalpodautoscalers",
)
# Controllers whose size is spec.replicas (a Job's parallelism is not offered on the page).
SCALABLE = frozenset({"deployments", "replicasets", "replicationcontrollers", "statefulsets"})
CLUSTER_SCOPED = frozenset({"nodes", "namespaces"})

# The columns of each view: ``get``'s, plus a few of ``get -o wide``'s where they help.
_HEADERS: dict[str, tuple[str, ...]] = {
    "pods": ("READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"),
    "nodes": ("STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "CONTAINER-RUNTIME"),
}

_OK = frozenset({"Running", "Completed", "Succeeded", "Ready", "Active"})
_PENDING = frozenset({"Pending", "ContainerCreating", "PodInitializing", "Terminating", "Unknown"})


# An HPA's replica count beside its metric (``get hpa`` puts MINPODS and MAXPODS in between).
_ORDER: dict[str, tuple[str, ...]] = {
    "horizontalpodautoscalers": ("REFERENCE", "TARGETS", "REPLICAS", "MINPODS", "MAXPODS", "AGE"),
}


def columns(resource: str) -> list[Column]:
    order = _ORDER.get(resource)
    if order is not None:
        by_header = {c.header: c for c in columns_for(resource, wide=False)}
        return [by_header[h] for h in order if h in by_header]
    wanted = _HEADERS.get(resource)
    if wanted is None:
        return columns_for(resource, wide=False)
    return [c for c in columns_for(resource, wide=True) if c.header in wanted]


def headers(resource: str) -> list[str]:
    """The column headers of a view (events have no NAME column, as in kubectl)."""
    cols = [c.header for c in columns(resource)]
    return cols if resource == "events" else ["NAME", *cols]


def key_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name', '')}" if ns else str(meta.get("name", ""))


def status_tone(status: str) -> str:
    """``ok``, ``pending`` or ``bad``: how the page colours a STATUS (pod, node) value."""
    parts = status.split(",")
    if parts[0] in _OK:
        return "pending" if "SchedulingDisabled" in parts else "ok"
    if parts[0] in _PENDING or (parts[0].startswith("Init:") and parts[0][5:].split("/")[0].isdigit()):
        return "pending"
    return "bad"


def _desired(resource: str, obj: Obj) -> int | None:
    if resource not in SCALABLE:
        return None
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _workload_tone(resource: str, obj: Obj) -> str:
    status = obj.get("status") or {}
    if resource == "daemonsets":
        want, ready = status.get("desiredNumberScheduled") or 0, status.get("numberReady") or 0
    elif resource == "jobs":
        if any(
            c.get("type") == "Failed" and c.get("status") == "True" for c in status.get("conditions") or []
        ):
            return "bad"
        return "ok" if status.get("completionTime") or status.get("active") else "pending"
    elif resource in ("cronjobs", "horizontalpodautoscalers"):
        if resource == "horizontalpodautoscalers":
            want = status.get("desiredReplicas")
            return "ok" if want is None or want == status.get("currentReplicas") else "pending"
        return "ok"
    else:
        want, ready = _desired(resource, obj) or 0, status.get("readyReplicas") or 0
    return "ok" if ready >= want else "pending"


def row(resource: str, obj: Obj, now: datetime) -> dict[str, Any]:
    """One object as the page shows it."""
    meta = obj.get("metadata") or {}
    cells = [c.cell(obj, now) for c in columns(resource)]
    out: dict[str, Any] = {
        "resource": resource,
        "key": key_of(obj),
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace") or "",
        "cells": cells if resource == "events" else [str(meta.get("name", "")), *cells],
        "created": meta.get("creationTimestamp") or "",
    }
    if resource == "pods":
        status = pod_status_reason(obj)
        spec = obj.get("spec") or {}
        out.update(
            status=status,
            tone=status_tone(status),
            node=spec.get("nodeName") or "",
            containers=[c.get("name", "") for c in spec.get("containers") or []],
        )
    elif resource == "nodes":
        status = node_status(obj)
        out.update(status=status, tone=status_tone(status))
    elif resource == "events":
        out.update(
            tone="bad" if obj.get("type") == "Warning" else "ok",
            created=obj.get("lastTimestamp") or obj.get("eventTime") or out["created"],
        )
    elif resource == "namespaces":
        out["status"] = str((obj.get("status") or {}).get("phase") or "Active")
    elif resource in WORKLOADS:
        out.update(kind=obj.get("kind") or "", tone=_workload_tone(resource, obj))
        desired = _desired(resource, obj)
        if desired is not None:
            out["replicas"] = desired
    return out


def in_namespace(resource: str, obj: Obj, namespace: str | None) -> bool:
    """Whether a namespaced view of ``namespace`` (None: all namespaces) shows ``obj``."""
    if namespace is None or resource in CLUSTER_SCOPED:
        return True
    return (obj.get("metadata") or {}).get("namespace") == namespace


def sort_key(r: dict[str, Any]) -> tuple[str, str]:
    return (r.get("namespace") or "", r.get("name") or "")


def table(
    resource: str, objects: Iterable[Obj], now: datetime, namespace: str | None = None
) -> dict[str, Any]:
    """A whole view: its headers and its rows (sorted by namespace and name; events by time)."""
    rows = [row(resource, o, now) for o in objects if in_namespace(resource, o, namespace)]
    if resource == "events":
        rows.sort(key=lambda r: r.get("created") or "")
    else:
        rows.sort(key=sort_key)
    return {"resource": resource, "columns": headers(resource), "items": rows}


def parse_namespace(value: str | None) -> str | None:
    """The ``namespace`` query parameter: empty, ``*`` or ``_all`` mean every namespace."""
    if value is None or value in ("", "*", "_all"):
        return None
    return value


def parse_replicas(body: Any) -> int:
    """The body of a scale request, ``{"replicas": n}``; BadRequest naming the field otherwise."""
    from schemas.errors import BadRequest

    value = body.get("replicas") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise BadRequest(f"replicas: Invalid value: {value!r}: must be a whole number")
    if value < 0:
        raise BadRequest(f"replicas: Invalid value: {value}: must be greater than or equal to 0")
    return value
