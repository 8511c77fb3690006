"""A list read from the store as a stream, in bounded memory (issue 15).

``Store.list`` gathers every object of a resource before the api cuts one page from them: a
viewer's ``limit=500`` list over ten thousand pods held ten thousand decoded pods, and several such
lists at once grew the api by hundreds of megabytes. :func:`stream_page_source` reads the same
snapshot (a watch without a revision, up to its BOOKMARK) and keeps only what the page can use:
with a ``limit``, the ``limit + 1`` first objects in key order after the continue key (the one
past the limit tells :func:`~actors.api.paging.page` that more follow), trimmed as it goes. It
also lets other requests run every ``YIELD_EVERY`` objects, so a long list does not hold the event
loop from node heartbeats between two reads.

:func:`first_in_key_order` is the pure part.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from actors.api.paging import item_key
from bus.store import Store
from schemas.labels import matches_fields, parse_field_selector, parse_selector

YIELD_EVERY = 200  # objects read between two turns given to other requests


def first_in_key_order(items: list[dict[str, Any]], keep: int) -> list[dict[str, Any]]:
    """The ``keep`` objects of ``items`` first in key order (namespace, then name)."""
    return sorted(items, key=item_key)[:keep]


async def stream_page_source(
    store: Store,
    resource: str,
    namespace: str | None,
    label_selector: str | None,
    field_selector: str | None,
    *,
    limit: int | None,
    after: str | None,
) -> tuple[list[dict[str, Any]], int, int, int]:
    """(the objects a page may be cut from, the snapshot's revision, objects read, objects that
    matched after the continue key: what ``remainingItemCount`` is counted from)."""
    labels = parse_selector(label_selector) if label_selector else None
    fields = parse_field_selector(field_selector) if field_selector else None
    keep = None if limit is None else limit + 1
    items: list[dict[str, Any]] = []
    revision = 0
    read = 0
    matched = 0
    async with contextlib.aclosing(store.watch(resource, namespace)) as events:
        async for event in events:
            if event.type == "BOOKMARK":
                revision = event.revision
                break
            read += 1
            if read % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            obj = event.object
            if after is not None and item_key(obj) <= after:
                continue
            if labels is not None and not labels.matches(obj["metadata"].get("labels") or {}):
                continue
            if fields is not None and not matches_fields(obj, fields):
                continue
            matched += 1
            items.append(obj)
            if keep is not None and len(items) >= 2 * keep + YIELD_EVERY:
                items = first_in_key_order(items, keep)
    if keep is not None:
        items = first_in_key_order(items, keep)
    return items, revision, read, matched
