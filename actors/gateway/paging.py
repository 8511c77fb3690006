"""``limit`` and ``continue`` on lists (pure).

The api answers a list with every matching object; the gateway cuts it into pages in key order
(namespace, name). The continue token is opaque to clients: base64 of the last key given and the
revision of the first page. A later page is cut from a fresh list after that key, so it is
consistent per object but not a snapshot at the first page's revision as etcd's is: an object
created behind the cursor meanwhile is not listed, one deleted ahead of it is not either (the store
keeps no past states to read: actors/api/paging.py). kubectl
pages with ``limit=500`` and concatenates; informers list without a limit.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from schemas.errors import BadRequest


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def encode_token(after: tuple[str, str], revision: str) -> str:
    raw = json.dumps({"after": list(after), "rv": revision}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_token(token: str) -> tuple[tuple[str, str], str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after = (str(data["after"][0]), str(data["after"][1]))
        return after, str(data["rv"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise BadRequest("continue: Invalid value: the continue token is not valid") from None


def page(listing: dict[str, Any], limit: int | None, token: str | None) -> dict[str, Any]:
    """One page of ``listing`` (the api's whole list), with ``continue`` and
    ``remainingItemCount`` when more follow."""
    if limit is not None and limit < 0:
        raise BadRequest("limit: Invalid value: must be 0 or more")
    items = sorted(listing.get("items") or [], key=_key)
    meta = dict(listing.get("metadata") or {})
    if token:
        after, revision = decode_token(token)
        items = [i for i in items if _key(i) > after]
        meta["resourceVersion"] = revision
    if limit and len(items) > limit:
        rest = len(items) - limit
        items = items[:limit]
        meta["continue"] = encode_token(_key(items[-1]), str(meta.get("resourceVersion", "")))
        meta["remainingItemCount"] = rest
    return {**listing, "metadata": meta, "items": items}
