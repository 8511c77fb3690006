"""The api's EncryptingStore writes as the store it wraps: the settings Store.open chose carry over."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from actors.api.encryption import EncryptingStore, KeyRing
from bus.store import Store


@pytest.mark.parametrize("on", [True, False])
def test_the_write_path_settings_carry_over(tmp_path: Path, on: bool) -> None:
    bus: Any = SimpleNamespace(js=None)
    base = Store(bus)
    base.group_commit = on  # JETKUBE_GROUP_COMMIT=1: concurrent writes share an fsync
    base.atomic_fences = on
    base.direct_reads = not on
    api_store = EncryptingStore(base, KeyRing.load_or_create(tmp_path / "key.json"))
    assert (api_store.group_commit, api_store.atomic_fences, api_store.direct_reads) == (on, on, not on)
