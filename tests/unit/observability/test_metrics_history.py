"""The metrics history's rings (actors/metrics/history.py) and the collector's pure helpers."""

from __future__ import annotations

import pytest

from actors.metrics.collector import query_args, sample_time
from actors.metrics.history import History, Point
from actors.metrics.top import ContainerTop, PodTop
from schemas.errors import BadRequest

T0 = 1_765_000_000.0


def test_points_come_back_oldest_first_in_the_units_given() -> None:
    h = History(window=60, interval=10)
    h.record("node", "n1", T0, 250_000_000, 512 * 1024 * 1024)
    h.record("node", "n1", T0 + 10, 500_000_000, 256 * 1024 * 1024)
    assert h.points("node", "n1") == [
        Point(T0, 250.0, 512 * 1024 * 1024),
        Point(T0 + 10, 500.0, 256 * 1024 * 1024),
    ]
    assert h.latest("node", "n1") == Point(T0 + 10, 500.0, 256 * 1024 * 1024)


def test_a_sample_read_twice_is_kept_once() -> None:
    h = History(window=60, interval=10)
    assert h.record("pod", "default/a", T0, 1_000_000, 1024) is not None
    assert h.record("pod", "default/a", T0, 1_000_000, 1024) is None
    assert len(h.points("pod", "default/a")) == 1


def test_the_ring_grows_lazily_then_keeps_one_window() -> None:
    h = History(window=60, interval=10)  # capacity 7
    h.record("node", "n1", T0, 0, 0)
    assert len(h.series[("node", "n1")]) == 1  # not a whole window up front
    for i in range(1, 20):
        h.record("node", "n1", T0 + 10 * i, i * 1_000_000, 0)
    pts = h.points("node", "n1")
    assert len(pts) == 7
    assert [p.t for p in pts] == [T0 + 10 * i for i in range(13, 20)]
    assert h.latest("node", "n1") == Point(T0 + 190, 19.0, 0)


def test_sweep_drops_series_silent_for_a_window() -> None:
    h = History(window=60, interval=10)
    h.record("pod", "default/gone", T0, 0, 0)
    h.record("pod", "default/here", T0 + 100, 0, 0)
    assert h.sweep(T0 + 120) == 1
    assert ("pod", "default/gone") not in h.series
    assert ("pod", "default/here") in h.series


def test_the_series_cap_refuses_new_series() -> None:
    h = History(window=60, interval=10, max_series=2)
    h.record("node", "a", T0, 0, 0)
    h.record("node", "b", T0, 0, 0)
    assert h.record("node", "c", T0, 0, 0) is None
    assert h.dropped == 1 and len(h) == 2


def test_record_node_keeps_node_pod_and_container_series() -> None:
    h = History(window=60, interval=10)
    pod = PodTop("default", "web", "n1", 30_000_000, 2048, [ContainerTop("nginx", 30_000_000, 2048)])
    new = h.record_node("n1", T0, 50_000_000, 4096, [pod])
    assert [(s.kind, s.key) for s in new] == [
        ("node", "n1"),
        ("pod", "default/web"),
        ("container", "default/web/nginx"),
    ]


def test_query_filters_by_kind_namespace_and_age() -> None:
    h = History(window=600, interval=10)
    h.record("node", "n1", T0, 1_000_000, 1024)
    h.record("pod", "default/a", T0, 1_000_000, 1024)
    h.record("pod", "other/b", T0, 1_000_000, 1024)
    h.record("pod", "default/a", T0 + 300, 2_000_000, 2048)
    got = h.query(now=T0 + 300, kinds=["node", "pod"], namespace="default")
    assert [(s["kind"], s["key"], len(s["points"])) for s in got["series"]] == [
        ("node", "n1", 1),
        ("pod", "default/a", 2),
    ]
    recent = h.query(now=T0 + 300, kinds=["pod"], since=60)
    assert [(s["key"], s["points"]) for s in recent["series"]] == [("default/a", [[T0 + 300, 2.0, 2048]])]
    with pytest.raises(ValueError, match="kind: Unsupported value: 'disk'"):
        h.query(now=T0, kinds=["disk"])


@pytest.mark.parametrize(
    ("taken", "expected"),
    [("2026-12-07T02:00:00Z", 1796608800.0), (None, 5.0), ("garbage", 5.0)],
)
def test_sample_time(taken: str | None, expected: float) -> None:
    assert sample_time(taken, 5.0) == expected


def test_query_args_name_the_bad_field() -> None:
    assert query_args({})["kinds"] == ["node", "pod"]
    with pytest.raises(BadRequest, match="since: Invalid value"):
        query_args({"since": -1})
    with pytest.raises(BadRequest, match="kinds: Invalid value"):
        query_args({"kinds": "node"})
