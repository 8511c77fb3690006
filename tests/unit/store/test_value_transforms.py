"""The store's chain of value transformations (bus/transforms.py): writes go through it in order,
reads come back through it in reverse, and every chain converts reads to the current version."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bus.codec import encode
from bus.store import Store
from bus.transforms import StorageVersion


class Tag:
    """Appends its name to ``trail`` on the way in and removes it on the way out (checking order)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def to_stored(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {**obj, "trail": [*obj.get("trail", []), self.name]}

    def from_stored(self, obj: dict[str, Any]) -> dict[str, Any]:
        assert obj["trail"][-1] == self.name, "reads must undo the last transformation first"
        return {**obj, "trail": obj["trail"][:-1]}

    def from_deleted(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.from_stored(obj)


def _store(*extra: Any) -> Store:
    return Store(SimpleNamespace(js=None), "test", transforms=(StorageVersion(), *extra))  # type: ignore[arg-type]


def test_writes_pass_the_chain_in_order_and_reads_in_reverse() -> None:
    store = _store(Tag("a"), Tag("b"))
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    stored = store._stored_form(obj)
    assert stored["trail"] == ["a", "b"]
    loaded = store.load(encode(stored), 7)
    assert loaded["trail"] == []
    assert loaded["metadata"]["resourceVersion"] == "7"


def test_every_store_reads_old_versions_as_current_ones() -> None:
    old = {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {}}
    assert Store(SimpleNamespace(js=None)).load(encode(old), 3)["apiVersion"] == "apps/v1"  # type: ignore[arg-type]


def test_the_storage_versions_setting_is_the_chains_first_link() -> None:
    store = _store(Tag("a"))
    marker = object()
    store.versions = marker  # type: ignore[assignment]
    assert store.transforms[0].versions is marker  # type: ignore[attr-defined]
