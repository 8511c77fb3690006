"""The selectors and revision of a list or watch request, checked before any work starts.

A malformed ``labelSelector``, ``fieldSelector`` or ``resourceVersion`` (or one of the wrong type)
is a 400 BadRequest naming the field and the rule, answered at once: a watch never answers
``streaming`` for a request it cannot serve (the client would wait for ever), and a non-string
selector is bad input, not a 500.
"""

from __future__ import annotations

from typing import Any

from bus.watchfilter import SelectorFilter
from schemas.errors import BadRequest
from schemas.labels import parse_field_selector, parse_selector

SELECTOR_FIELDS = ("labelSelector", "fieldSelector")


def selector_text(payload: dict[str, Any], field: str) -> str | None:
    """The selector ``field`` of a request: a string or absent; parsed here to name the field."""
    value = payload.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field}: Invalid value: must be a string, not {type(value).__name__}")
    try:
        parse_selector(value) if field == "labelSelector" else parse_field_selector(value)
    except BadRequest as err:
        raise BadRequest(f"{field}: Invalid value: {value[:200]!r}: {err.message}") from None
    return value


def checked_selectors(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    return selector_text(payload, "labelSelector"), selector_text(payload, "fieldSelector")


def start_revision(payload: dict[str, Any]) -> int | None:
    """The revision a watch starts after (None: from now, listing first as Kubernetes' "0")."""
    rv = payload.get("resourceVersion")
    if rv in (None, "", "0", 0):
        return None
    if isinstance(rv, bool) or not isinstance(rv, int | str):
        raise BadRequest(f"resourceVersion: Invalid value: must be a string, not {type(rv).__name__}")
    text = str(rv)
    if not text.isdigit() or len(text) > 20:
        raise BadRequest(f"resourceVersion: Invalid value: {text[:40]!r}: must be a non-negative integer")
    return int(text)


def watch_filter(payload: dict[str, Any]) -> SelectorFilter:
    label, field = checked_selectors(payload)
    return SelectorFilter(label, field)
