"""Server-side printing: objects as a ``meta.k8s.io/v1`` Table with the columns ``jetkube get``
prints (schemas/printing/columns.py), so kubectl's ``get`` output is jetkube's.

Wide-only columns get priority 1 (kubectl shows them with ``-o wide``). Each row carries its whole
object, from which kubectl takes the namespace (``-A``) and labels (``--show-labels``, ``-L``).
Pure: objects in, a mapping out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.printing.columns import columns_for

TABLE_MEDIA = "as=Table"
_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}


def wants_table(accept: str) -> bool:
    """Whether an ``Accept`` header asks for a Table (kubectl get sends the meta.k8s.io/v1 one)."""
    for part in accept.split(","):
        params = {p.strip() for p in part.split(";")[1:]}
        if "as=Table" in params and "g=meta.k8s.io" in params and ("v=v1" in params or "v=v1beta1" in params):
            return True
    return False


def column_definitions(plural: str) -> list[dict[str, Any]]:
    cols = columns_for(plural, True)
    defs = [] if plural == "events" else [dict(_NAME_COLUMN)]
    for col in cols:
        defs.append(
            {
                "name": col.header.title() if col.header.isupper() else col.header,
                "type": "string",
                "format": "",
                "description": col.header,
                "priority": 1 if col.wide else 0,
            }
        )
    return defs


def row(plural: str, obj: dict[str, Any], now: datetime) -> dict[str, Any]:
    cells = [c.cell(obj, now) for c in columns_for(plural, True)]
    if plural != "events":
        cells.insert(0, str((obj.get("metadata") or {}).get("name", "")))
    return {"cells": cells, "object": obj}


def table(plural: str, items: list[dict[str, Any]], meta: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The Table of a list (``meta``: the list's metadata: resourceVersion, continue)."""
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": column_definitions(plural),
        "rows": [row(plural, obj, now) for obj in items],
    }
