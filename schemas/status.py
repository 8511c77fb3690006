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
    if when.tzinfo is not None:
        when = when.astimezone(_dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> _dt.datetime | None:
    """An RFC 3339 time (``Z`` or an offset, fractions allowed) as an aware UTC datetime."""
    if not text:
        return None
    value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith(("Z", "z")) else text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)


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
