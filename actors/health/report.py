"""Health reports and component statuses, pure: supervisor state and clocks in, dicts out.

A process report (what ``jetkube.health.<id>`` answers and what its heartbeat records):

    {"id", "role", "identity", "build", "version", "host", "pid", "startedAt", "time",
     "tasks": [{"name", "state": running|restarting, "restarts", "lastError"}],
     "healthy": bool, "message": str, "extra": {...}}

A process is healthy when none of its supervised tasks is waiting to be restarted after a crash;
restarts that succeeded are counted, not held against it. A component status row joins three
sources: the live answer (if any), the last heartbeat and the leases the process holds.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from schemas.status import parse_time


class ChildLike(Protocol):
    name: str
    restarts: int
    last_error: str
    backing_off: bool


def build_label() -> str:
    """This process's build: ``$JETKUBE_BUILD`` (set by the image build), else the package version."""
    build = os.environ.get("JETKUBE_BUILD", "").strip()
    return build or f"v{package_version()}"


def package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("jetkube")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def tasks_of(children: Iterable[ChildLike]) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "state": "restarting" if getattr(c, "backing_off", False) else "running",
            "restarts": int(getattr(c, "restarts", 0)),
            "lastError": getattr(c, "last_error", "") or "",
        }
        for c in children
    ]


def verdict(tasks: Sequence[Mapping[str, Any]]) -> tuple[bool, str]:
    """(healthy, message): unhealthy while any task waits to be restarted."""
    down = [t for t in tasks if t.get("state") == "restarting"]
    if down:
        first = down[0]
        more = f" and {len(down) - 1} more" if len(down) > 1 else ""
        return False, f"task {first['name']} is restarting ({first.get('lastError') or 'crashed'}){more}"
    restarts = sum(int(t.get("restarts") or 0) for t in tasks)
    tail = f", {restarts} restarts so far" if restarts else ""
    return True, f"ok: {len(tasks)} tasks running{tail}"


def process_report(
    *,
    process_id: str,
    role: str,
    identity: str,
    children: Iterable[ChildLike],
    started_at: float,
    now: float,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    tasks = tasks_of(children)
    healthy, message = verdict(tasks)
    return {
        "id": process_id,
        "role": role,
        "identity": identity,
        "build": build_label(),
        "version": f"v{package_version()}",
        "python": platform.python_version(),
        "host": platform.node(),
        "pid": os.getpid(),
        "startedAt": started_at,
        "time": now,
        "tasks": tasks,
        "healthy": healthy,
        "message": message,
        "extra": dict(extra or {}),
    }


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    role: str
    healthy: bool
    message: str
    error: str
    build: str
    leader_of: tuple[str, ...]
    last_heartbeat: float | None  # epoch seconds

    def age(self, now: float) -> str:
        if self.last_heartbeat is None:
            return "<none>"
        return human_age(max(0.0, now - self.last_heartbeat))


def human_age(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    return f"{s // 3600}h"


def leaders(leases: Iterable[Mapping[str, Any]], now: float) -> dict[str, str]:
    """lease name -> holder identity, for leases still within their duration."""

    out: dict[str, str] = {}
    for lease in leases:
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        if not holder:
            continue
        renew = spec.get("renewTime")
        duration = float(spec.get("leaseDurationSeconds") or 15)
        if renew:
            parsed = parse_time(renew)
            renewed = parsed.timestamp() if parsed else now
            if now - renewed > duration:
                continue
        out[str((lease.get("metadata") or {}).get("name"))] = str(holder)
    return out


def component_statuses(
    live: Mapping[str, Mapping[str, Any]],
    beats: Mapping[str, Mapping[str, Any]],
    lease_holders: Mapping[str, str],
    *,
    stale_after: float,
    now: float,
) -> list[ComponentStatus]:
    """One row per process known from a live answer or a heartbeat, sorted by role then name.

    Live and healthy: Healthy. Live with a task restarting: Unhealthy with the task's error. Not
    answering: Unhealthy, "no answer", whose heartbeat says when it was last seen."""
    rows: list[ComponentStatus] = []
    for pid in sorted(set(live) | set(beats)):
        report = live.get(pid) or beats.get(pid) or {}
        beat = beats.get(pid)
        identity = str(report.get("identity") or pid)
        held = tuple(sorted(name for name, holder in lease_holders.items() if holder == identity))
        last = max(
            (float(r["time"]) for r in (live.get(pid), beat) if r and r.get("time") is not None),
            default=None,
        )
        if pid in live:
            healthy = bool(report.get("healthy"))
            message = str(report.get("message") or "")
            error = "" if healthy else message
        elif beat is not None and beat.get("stopped"):
            healthy, message, error = False, "stopped", ""
        else:
            healthy = False
            stale = last is None or now - last > stale_after
            message = "no answer" + (" (heartbeats stopped)" if stale else "")
            error = f"process {pid} did not answer the health request"
        rows.append(
            ComponentStatus(
                name=pid,
                role=str(report.get("role") or ""),
                healthy=healthy,
                message=message,
                error=error,
                build=str(report.get("build") or ""),
                leader_of=held,
                last_heartbeat=last,
            )
        )
    rows.sort(key=lambda r: (r.role, r.name))
    return rows


def as_kubernetes(rows: Sequence[ComponentStatus], now: float) -> dict[str, Any]:
    """A v1 ComponentStatusList (``-o yaml|json``), with jetkube's extras as annotations."""
    items = []
    for r in rows:
        items.append(
            {
                "apiVersion": "v1",
                "kind": "ComponentStatus",
                "metadata": {
                    "name": r.name,
                    "annotations": {
                        "jetkube.io/role": r.role,
                        "jetkube.io/build": r.build,
                        "jetkube.io/leader-of": ",".join(r.leader_of),
                        "jetkube.io/last-heartbeat-age": r.age(now),
                    },
                },
                "conditions": [
                    {
                        "type": "Healthy",
                        "status": "True" if r.healthy else "False",
                        "message": r.message,
                        **({"error": r.error} if r.error else {}),
                    }
                ],
            }
        )
    return {"apiVersion": "v1", "kind": "ComponentStatusList", "metadata": {}, "items": items}
