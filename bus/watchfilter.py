"""Label and field selectors applied to a watch, as Kubernetes applies them to a filtered watch.

The store's watch has no selectors; :class:`SelectorFilter` is called on each event and returns the
event to pass on, or None. An object that starts matching arrives as ADDED, one that stops matching
as DELETED (watchers must forget it), a delete of an object that matched (or matches) as DELETED.
Used by the client's own watch (bus/client.py) and by the api's watch stream
(actors/api/watchstream.py)."""

from __future__ import annotations

from bus.store import WatchEvent
from schemas.labels import matches_fields, parse_field_selector, parse_selector


class SelectorFilter:
    def __init__(self, label_selector: str | None, field_selector: str | None) -> None:
        self.labels = parse_selector(label_selector) if label_selector else None
        self.fields = parse_field_selector(field_selector) if field_selector else None
        self.matched: set[str] = set()

    def __call__(self, event: WatchEvent) -> WatchEvent | None:
        if event.type == "BOOKMARK" or (self.labels is None and self.fields is None):
            return event
        obj = event.object
        meta = obj.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        hit = (self.labels is None or self.labels.matches(meta.get("labels") or {})) and (
            self.fields is None or matches_fields(obj, self.fields)
        )
        if event.type == "DELETED":
            if key in self.matched or hit:
                self.matched.discard(key)
                return event
            return None
        if hit:
            kind = "MODIFIED" if key in self.matched else "ADDED"
            self.matched.add(key)
            return WatchEvent(kind, obj, event.revision)
        if key in self.matched:
            self.matched.discard(key)
            return WatchEvent("DELETED", obj, event.revision)
        return None
