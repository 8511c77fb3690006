"""The layout of ``describe``: ``Key:  value`` lines aligned per block, nested by indentation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cli.printers.age import age
from cli.printers.table import render

_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"  # kubectl hides it too


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def kv(self, level: int, key: str, value: Any = "", width: int = 14) -> None:
        pad = "  " * level
        label = f"{key}:"
        text = "" if value is None else str(value)
        if text:
            self.lines.append(f"{pad}{label.ljust(max(width, len(label) + 2))}{text}".rstrip())
        else:
            self.lines.append(f"{pad}{label}")

    def map(self, level: int, key: str, values: dict[str, Any] | None, width: int = 14) -> None:
        """``Labels:  a=b`` and further pairs on their own lines, aligned; ``<none>`` if empty."""
        values = {k: v for k, v in (values or {}).items() if k != _LAST_APPLIED}
        if not values:
            self.kv(level, key, "<none>", width)
            return
        pairs = [f"{k}={v}" if key != "Annotations" else f"{k}: {v}" for k, v in sorted(values.items())]
        self.kv(level, key, pairs[0], width)
        indent = "  " * level + " " * max(width, len(key) + 1)
        self.lines.extend(indent + p for p in pairs[1:])

    def line(self, level: int, text: str) -> None:
        self.lines.append("  " * level + text)

    def table(self, level: int, rows: Sequence[Sequence[str]]) -> None:
        header = list(rows[0])
        dashes = ["-" * len(h) for h in header]
        for text in render([header, dashes, *rows[1:]]):
            self.line(level, text)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def events_section(w: Writer, events: Sequence[dict[str, Any]], now: datetime) -> None:
    if not events:
        w.kv(0, "Events", "<none>")
        return
    w.kv(0, "Events")
    rows = [["Type", "Reason", "Age", "From", "Message"]]
    for ev in events:
        last = (
            ev.get("lastTimestamp")
            or ev.get("eventTime")
            or (ev.get("metadata") or {}).get("creationTimestamp")
        )
        first = ev.get("firstTimestamp") or last
        count = int(ev.get("count") or 1)
        when = age(last, now) + (f" (x{count} over {age(first, now)})" if count > 1 else "")
        source = ev.get("source") or {}
        origin = (
            source.get("component") or ev.get("reportingComponent") or ev.get("reportingController") or ""
        )
        rows.append(
            [
                str(ev.get("type", "")),
                str(ev.get("reason", "")),
                when,
                str(origin),
                str(ev.get("message", "")).strip(),
            ]
        )
    w.table(1, rows)
