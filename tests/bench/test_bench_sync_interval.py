"""The benchmarks' nats-server fsync policy: jetkube's default unless JETKUBE_BENCH_SYNC_INTERVAL
names another (the lazy ``2m`` of the figures before 12-07, to compare code across that change)."""

from __future__ import annotations

import pytest

from bench.topology import Topology, sync_interval
from bus.embedded import DEFAULT_SYNC_INTERVAL
from schemas.errors import BadRequest


def test_default_is_jetkubes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JETKUBE_BENCH_SYNC_INTERVAL", raising=False)
    assert sync_interval() == DEFAULT_SYNC_INTERVAL


def test_the_variable_sets_the_servers_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JETKUBE_BENCH_SYNC_INTERVAL", "2m")
    topo = Topology()
    try:
        assert topo.nats.sync_interval == "2m"
    finally:
        topo._tmp.cleanup()


def test_a_bad_value_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JETKUBE_BENCH_SYNC_INTERVAL", "often")
    with pytest.raises(BadRequest, match=r"^JETKUBE_BENCH_SYNC_INTERVAL: must be 'always' or a duration"):
        sync_interval()
