"""``jetkube wait --for=...``'s conditions, pure: the flag parsed, and whether an object meets it.

--for=delete                        the object is gone (another object of that name counts)
--for=create                        the object exists
--for=condition=Ready[=true]        status.conditions[type=Ready].status equals the value
                                    (case-insensitive; default true)
--for=jsonpath='{.status.phase}'=Running   the path's value equals the text
--for=jsonpath='{.status.readyReplicas}'   the path exists (kubectl 1.32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli import jsonpath
from schemas.errors import BadRequest


@dataclass(frozen=True)
class WaitFor:
    kind: str  # delete | create | condition | jsonpath
    name: str = ""  # the condition's type, or the JSONPath
    value: str | None = None  # None: "true" for a condition, "exists" for a path


def parse_for(text: str) -> WaitFor:
    if text in ("delete", "create"):
        return WaitFor(text)
    what, sep, rest = text.partition("=")
    if what == "condition" and sep and rest:
        name, eq, value = rest.partition("=")
        return WaitFor("condition", name, value if eq else None)
    if what == "jsonpath" and sep and rest:
        path, value = split_jsonpath(rest)
        jsonpath.parse(path)  # a bad template is the user's error now, not at the first poll
        return WaitFor("jsonpath", path, value)
    raise BadRequest(f"unrecognized condition: {text!r}")


def split_jsonpath(text: str) -> tuple[str, str | None]:
    """``{.status.phase}=Running`` -> (``{.status.phase}``, ``Running``); quotes around either go."""
    if text[:1] in ("'", '"') and text.find(text[0], 1) > 0:  # '{.path}'=value
        end = text.find(text[0], 1)
        text = text[1:end] + text[end + 1 :]
    if text.startswith("{"):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                rest = text[i + 1 :]
                if not rest:
                    return text, None
                if not rest.startswith("="):
                    break
                return text[: i + 1], rest[1:].strip("'\"")
        raise BadRequest(
            f"jsonpath wait format must be --for=jsonpath='{{JSONPath expression}}'=value: {text}"
        )
    path, eq, value = text.partition("=")
    return "{" + path + "}", (value.strip("'\"") if eq else None)


def met(cond: WaitFor, obj: dict[str, Any] | None) -> bool:
    """Whether ``obj`` (None: it does not exist) meets ``cond``."""
    if cond.kind == "delete":
        return obj is None
    if obj is None:
        return False
    if cond.kind == "create":
        return True
    if cond.kind == "condition":
        want = (cond.value if cond.value is not None else "true").lower()
        for c in (obj.get("status") or {}).get("conditions") or []:
            if str(c.get("type", "")).lower() == cond.name.lower():
                return str(c.get("status", "")).lower() == want
        return False
    path = cond.name[1:-1] if cond.name.startswith("{") and cond.name.endswith("}") else cond.name
    values = jsonpath.find(path if path.startswith((".", "$")) else "." + path, obj)
    if cond.value is None:
        return bool(values)
    return len(values) == 1 and jsonpath.format_value(values[0]) == cond.value
