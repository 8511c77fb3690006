"""Small helpers over status and metadata that controllers, the kubelet and the CLI share."""

from __future__ import annotations

import datetime as _dt
import time as _time
from typing import Any

Obj = dict[str, Any]


_stamp: tuple[int, str] = (-1, "")  # the last second formatted: a create stamps several times


def now_rfc3339() -> str:
    """The current UTC time as Kubernetes writes it: ``2026-11-25T17:00:00Z`` (seconds)."""
    global _stamp
    second = int(_time.time())
    if second != _stamp[0]:
        _stamp = (second, _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(second)))
    return _stamp[1]


def format_time(when: _dt.datetime) -> str:
    """A datetime as the API writes it: UTC, seconds precision (``metav1.Time``), with a ``Z``."""
    if when.tzinfo is not None:
        when = when.astimezone(_dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> _dt.datetime | None:
    """The one time parser: an RFC 3339 time as an aware UTC datetime, None when absent or bad.

    Takes what the API writes (``2026-11-25T17:00:00Z``), offsets, fractions up to nanoseconds as Go
    and Docker write them (cut to microseconds), a lower-case ``z``, and an already parsed datetime
    (naive ones are taken as UTC). Anything else, including a non-string, gives None.
    """
    if isinstance(value, _dt.datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = _dt.datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=_dt.UTC)
    return parsed.astimezone(_dt.UTC)


def pod_phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or "Pending"


def get_condition(obj: Obj, type_: str) -> Obj | None:
    """The condition of ``type_`` in ``obj.status.conditions``, or None."""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return cond  # type: ignore[no-any-return]
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = get_condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


def set_condition(conditions: list[Obj] | None, cond: Obj, *, now: str | None = None) -> list[Obj]:
    """A new list with ``cond`` set. ``lastTransitionTime`` only moves when ``status`` changes.

    The input list and its dicts are not changed (they may come from a read-only cache).
    """
    result: list[Obj] = []
    placed = False
    for old in conditions or ():
        if old.get("type") != cond.get("type"):
            result.append(old)
            continue
        new = dict(cond)
        if old.get("status") == new.get("status"):
            if "lastTransitionTime" in old:
                new["lastTransitionTime"] = old["lastTransitionTime"]
        else:
            new.setdefault("lastTransitionTime", now or now_rfc3339())
        result.append(new)
        placed = True
    if not placed:
        new = dict(cond)
        new.setdefault("lastTransitionTime", now or now_rfc3339())
        result.append(new)
    return result


def owner_controller(obj: Obj) -> Obj | None:
    """The ownerReference with ``controller: true``, or None."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def is_terminal_phase(phase: str) -> bool:
    return phase in ("Succeeded", "Failed")
