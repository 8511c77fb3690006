"""Paged lists, as Kubernetes pages them: ``limit`` and ``continue``. Pure: no I/O.

A list request may carry ``limit`` (a positive integer) and ``continue`` (the token of the page
before). A page holds at most ``limit`` items in key order (namespace, then name) and, when more
follow, ``metadata.continue``: an opaque token (base64 of JSON) carrying the revision of the first
page and the last key given. The list's ``metadata.resourceVersion`` is the first page's revision on
every page, so a watch from it afterwards misses nothing.

Where jetkube differs: the state bucket keeps one message per key (history 1), so it cannot be
read at a past revision (a batched direct get ``up_to_seq`` R leaves out every key written again
after R: tests/integration/store/test_no_past_revision_reads.py). Pages after the first are read
from the current state (keys after the last one given), not from the first page's snapshot; an
object changed meanwhile shows its newer state, and a watch from the list's revision replays the
change; a token is never too old (no 410).

A page is also bounded in bytes: it never grows past ``budget`` (under the NATS message limit),
each item's size counted as it is added, so a reply too big to send is never built. Past the
budget a page ends early with its continue token when the client pages; a request without
``limit`` whose answer would not fit is refused with 413, naming ``limit``/``continue``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from schemas.errors import BadRequest, RequestEntityTooLarge

MAX_LIMIT = 10_000


def parse_limit(value: Any) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise BadRequest(f"limit: Invalid value: {str(value)[:40]!r}: must be a non-negative integer")
    return min(int(value), MAX_LIMIT)


def encode_continue(revision: int, last_key: str) -> str:
    raw = json.dumps({"v": 1, "rv": revision, "start": last_key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_continue(token: Any) -> tuple[int, str] | None:
    """(revision, last key) of a continue token; None for none; BadRequest for a bad one."""
    if token in (None, ""):
        return None
    try:
        if not isinstance(token, str) or len(token) > 4096:
            raise ValueError("not a token")
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        revision, start = data["rv"], data["start"]
        if data.get("v") != 1 or not isinstance(revision, int) or revision < 0 or not isinstance(start, str):
            raise ValueError("unknown form")
    except (ValueError, KeyError, TypeError):
        raise BadRequest(
            "continue: Invalid value: the continue token is not valid (ask again without it)"
        ) from None
    return revision, start


def item_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def page(
    items: list[dict[str, Any]],
    *,
    limit: int | None,
    after: str | None,
    budget: int,
    size_of: Callable[[Any], int],
) -> tuple[list[dict[str, Any]], str | None]:
    """(the page's items, the last key given when more follow, else None)."""
    ordered = sorted((o for o in items if after is None or item_key(o) > after), key=item_key)
    out: list[dict[str, Any]] = []
    used = 0
    for obj in ordered:
        size = size_of(obj)
        if limit is not None and len(out) >= limit:
            return out, item_key(out[-1])
        if used + size > budget:
            if limit is None:
                raise RequestEntityTooLarge(
                    f"the list is over {budget} bytes, more than one message may carry: "
                    "ask for it in pages with limit and continue (jetkube get does)"
                )
            if not out:
                raise RequestEntityTooLarge(f"the object {item_key(obj)} alone is over {budget} bytes")
            return out, item_key(out[-1])
        out.append(obj)
        used += size
    return out, None
