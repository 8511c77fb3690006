"""Decode the engine's JSON (inspect, list, events, info) into the runtime's plain values. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from actors.kubelet import labels as L
from actors.kubelet.types import ContainerState, ContainerSummary, ImageInfo, NodeCapacity, RuntimeEvent
from schemas.status import parse_time


def parse_docker_time(value: str | None) -> datetime | None:
    """Docker's RFC 3339 with nanoseconds -> aware datetime (:func:`schemas.status.parse_time`);
    the zero time Docker reports for "never" ("0001-01-01T00:00:00Z") and "" -> None."""
    if not value or value.startswith("0001-01-01"):
        return None
    return parse_time(value)


def _epoch(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def container_state(inspect: Mapping[str, Any]) -> ContainerState:
    st = inspect.get("State") or {}
    cfg = inspect.get("Config") or {}
    status = str(st.get("Status") or "")
    running = bool(st.get("Running"))
    finished = parse_docker_time(st.get("FinishedAt"))
    exited = status in ("exited", "dead") or (not running and finished is not None)
    return ContainerState(
        id=str(inspect.get("Id", "")),
        name=str(inspect.get("Name", "")).lstrip("/"),
        status=status,
        running=running,
        exit_code=int(st.get("ExitCode", 0)) if exited else None,
        oom_killed=bool(st.get("OOMKilled")),
        started_at=parse_docker_time(st.get("StartedAt")),
        finished_at=finished,
        error=str(st.get("Error") or ""),
        image=str(cfg.get("Image", "")),
        image_id=str(inspect.get("Image", "")),
        created_at=parse_docker_time(inspect.get("Created")),
        labels=dict(cfg.get("Labels") or {}),
    )


def container_summary(item: Mapping[str, Any]) -> ContainerSummary:
    """An entry of ``GET /containers/json``."""
    labels = dict(item.get("Labels") or {})
    names = item.get("Names") or [""]
    try:
        attempt = int(labels.get(L.CONTAINER_ATTEMPT, "0"))
    except ValueError:
        attempt = 0
    return ContainerSummary(
        id=str(item.get("Id", "")),
        name=str(names[0]).lstrip("/"),
        type=labels.get(L.TYPE, ""),
        node=labels.get(L.NODE, ""),
        namespace=labels.get(L.POD_NAMESPACE, ""),
        pod_name=labels.get(L.POD_NAME, ""),
        pod_uid=labels.get(L.POD_UID, ""),
        container_name=labels.get(L.CONTAINER_NAME, ""),
        attempt=attempt,
        state=str(item.get("State", "")),
        created=_epoch(item.get("Created")),
        image=str(item.get("Image", "")),
        image_id=str(item.get("ImageID", "")),
        labels=labels,
    )


def runtime_event(data: Mapping[str, Any]) -> RuntimeEvent | None:
    """An entry of the ``/events`` stream; None for what is not a container event."""
    if data.get("Type", "container") != "container":
        return None
    actor = data.get("Actor") or {}
    attrs = dict(actor.get("Attributes") or {})
    action = str(data.get("Action") or data.get("status") or "")
    exit_code: int | None = None
    if "exitCode" in attrs:
        try:
            exit_code = int(attrs.pop("exitCode"))
        except ValueError:
            exit_code = None
    when = None
    if data.get("timeNano"):
        when = _epoch(int(data["timeNano"]) / 1e9)
    elif data.get("time"):
        t = data["time"]
        when = t if isinstance(t, datetime) else _epoch(t)
    labels = {k: v for k, v in attrs.items() if k.startswith(L.PREFIX)}
    return RuntimeEvent(
        action=action.split(":", 1)[0],
        container_id=str(actor.get("ID") or data.get("id") or ""),
        time=when,
        exit_code=exit_code,
        labels=labels,
    )


def node_capacity(info: Mapping[str, Any]) -> NodeCapacity:
    return NodeCapacity(
        cpus=int(info.get("NCPU") or 0),
        memory_bytes=int(info.get("MemTotal") or 0),
        hostname=str(info.get("Name") or ""),
        server_version=str(info.get("ServerVersion") or ""),
        operating_system=str(info.get("OperatingSystem") or ""),
        kernel_version=str(info.get("KernelVersion") or ""),
        docker_root_dir=str(info.get("DockerRootDir") or ""),
    )


def image_info(item: Mapping[str, Any]) -> ImageInfo:
    tags = tuple(t for t in (item.get("RepoTags") or []) if t and t != "<none>:<none>")
    return ImageInfo(
        id=str(item.get("Id", "")),
        tags=tags,
        size=int(item.get("Size") or 0),
        created=_epoch(item.get("Created")),
    )
