"""A long-running process raises the collector's thresholds, and leaves a switched-off one alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from actors.runtime.gctune import SERVER_THRESHOLDS, tune_for_server


@pytest.fixture
def saved_gc() -> Iterator[None]:
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*thresholds)
    (gc.enable if enabled else gc.disable)()


def test_thresholds_are_raised(saved_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    tune_for_server()
    assert gc.get_threshold() == SERVER_THRESHOLDS
    assert gc.isenabled()


def test_a_disabled_collector_stays_off(saved_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    gc.disable()
    tune_for_server()
    assert gc.get_threshold() == (700, 10, 10)
    assert not gc.isenabled()
