"""Garbage-collection decisions as tables: containers in, the ones removed out (in order)."""

from __future__ import annotations

import pytest

from actors.kubelet import labels as L
from actors.kubelet.gc_plan import (
    ContainerGCPolicy,
    check_image_thresholds,
    containers_to_remove,
    images_to_collect,
)
from actors.kubelet.types import ImageInfo
from schemas.errors import BadRequest
from tests.unit.kubelet_services.factories import T0, summary

NOW = T0 + 1000


def ids(items) -> list[str]:
    return [c.id for c in items]


def test_keeps_the_newest_dead_attempt_per_container_and_removes_the_oldest_first() -> None:
    items = [
        summary("a0", "a", 0, created=0),
        summary("a1", "a", 1, created=10),
        summary("a2", "a", 2, created=20),
        summary("a3", "a", 3, created=30, state="running"),
        summary("b0", "b", 0, created=5),
        summary("b1", "b", 1, created=15),
    ]
    got = containers_to_remove(items, ContainerGCPolicy(), now=NOW)
    assert ids(got) == ["a0", "b0", "a1"]


@pytest.mark.parametrize(
    ("policy", "removed"),
    [
        (ContainerGCPolicy(max_per_pod_container=-1), []),
        (ContainerGCPolicy(max_per_pod_container=0), ["a0", "b0", "a1", "b1", "a2"]),
        (ContainerGCPolicy(max_per_pod_container=2), ["a0"]),
        # 5 dead, at most 2 on the node: each container keeps its share (1), the oldest go
        (ContainerGCPolicy(max_per_pod_container=-1, max_containers=2), ["a0", "b0", "a1"]),
        # at most 1: shares of at least one, then the oldest of what is left
        (ContainerGCPolicy(max_per_pod_container=-1, max_containers=1), ["a0", "b0", "a1", "b1"]),
        (ContainerGCPolicy(max_per_pod_container=5, max_containers=0), ["a0", "b0", "a1", "b1", "a2"]),
        # nothing is old enough
        (ContainerGCPolicy(min_age=2000, max_per_pod_container=0), []),
        # only the two oldest are old enough
        (ContainerGCPolicy(min_age=991, max_per_pod_container=0), ["a0", "b0"]),
    ],
)
def test_limits(policy: ContainerGCPolicy, removed: list[str]) -> None:
    items = [
        summary("a0", "a", 0, created=0),
        summary("a1", "a", 1, created=10),
        summary("a2", "a", 2, created=20),
        summary("b0", "b", 0, created=5),
        summary("b1", "b", 1, created=15),
    ]
    assert ids(containers_to_remove(items, policy, now=NOW)) == removed


def test_gone_pods_go_first_and_whole() -> None:
    items = [
        summary("live0", "a", 0, created=0, uid="live"),
        summary("live1", "a", 1, created=1, uid="live"),
        summary("gone0", "a", 0, created=50, uid="gone"),
        summary("gone1", "a", 1, created=60, uid="gone"),
        summary("gone-run", "b", 0, created=60, uid="gone", state="running"),
    ]
    got = containers_to_remove(items, ContainerGCPolicy(), now=NOW, active_pods={"live"})
    assert ids(got) == ["gone0", "gone1", "live0"]
    # not knowing which pods exist, nothing counts as gone
    assert ids(containers_to_remove(items, ContainerGCPolicy(), now=NOW)) == ["live0", "gone0"]


def test_running_and_fresh_created_containers_stay() -> None:
    items = [
        summary("run", state="running", created=0),
        summary("fresh", state="created", created=990),  # 10 s old: may be about to start
        summary("stale", state="created", attempt=1, created=100),
        summary("dead", state="exited", attempt=2, created=500),
    ]
    assert ids(containers_to_remove(items, ContainerGCPolicy(max_per_pod_container=0), now=NOW)) == [
        "stale",
        "dead",
    ]


def test_sandboxes_replaced_or_of_gone_pods_go_when_nothing_refers_to_them() -> None:
    sb = L.TYPE_SANDBOX
    items = [
        summary("sb-old", type_=sb, created=0, attempt=0),
        summary("sb-new", type_=sb, created=100, attempt=1, state="running"),
        summary("c-old", "a", 0, created=1, sandbox="sb-old"),
        summary("c-new", "a", 1, created=101, sandbox="sb-new"),
        summary("sb-gone", type_=sb, created=0, uid="gone"),
        summary("sb-dead-newest", type_=sb, created=5, uid="finished"),
    ]
    got = containers_to_remove(items, ContainerGCPolicy(), now=NOW, active_pods={"u1", "finished"})
    # c-old goes (an older attempt), so sb-old can go too; the newest sandbox of a live pod stays
    assert ids(got) == ["c-old", "sb-gone", "sb-old"]
    kept_old = containers_to_remove(
        items, ContainerGCPolicy(max_per_pod_container=2), now=NOW, active_pods={"u1", "finished"}
    )
    assert ids(kept_old) == ["sb-gone"]  # c-old stays, and it refers to sb-old


def img(i: str, size: int, *tags: str) -> ImageInfo:
    return ImageInfo(id=i, tags=tags, size=size, created=None)


GIB = 2**30


@pytest.mark.parametrize(
    ("fs", "in_use", "removed"),
    [
        # 85 % used: below the high threshold, nothing to do
        ((100 * GIB, 15 * GIB), set(), []),
        # 95 % used: free 15 GiB to reach 80 %, least recently used first
        ((100 * GIB, 5 * GIB), set(), ["old", "mid"]),
        # the least recently used one is in use: skipped
        ((100 * GIB, 5 * GIB), {"old"}, ["mid", "new"]),
        # everything in use or kept: nothing can go
        ((100 * GIB, 5 * GIB), {"old", "mid", "new", "young"}, []),
        # no statistics (the engine's disk is not on this host): nothing
        (None, set(), []),
    ],
)
def test_image_gc_table(fs, in_use: set[str], removed: list[str]) -> None:
    images = [
        img("new", 10 * GIB, "new:1"),
        img("old", 10 * GIB, "old:1"),
        img("mid", 10 * GIB, "mid:1"),
        img("pause", 1 * GIB, "jetkube/pause:latest"),
        img("young", 50 * GIB, "young:1"),
    ]
    last_used = {"old": 100.0, "mid": 200.0, "new": 300.0, "pause": 0.0, "young": 990.0}
    got = images_to_collect(
        images, in_use, last_used, fs, high=90, low=80, now=1000.0, min_age=60, keep=["jetkube/pause:latest"]
    )
    assert [i.id for i in got] == removed


def test_image_gc_disabled_at_100() -> None:
    images = [img("old", 10 * GIB, "old:1")]
    assert images_to_collect(images, set(), {"old": 0.0}, (100, 0), high=100, low=80, now=1.0) == []


@pytest.mark.parametrize(("high", "low"), [(101, 80), (90, -1), (80, 90)])
def test_image_threshold_validation(high: int, low: int) -> None:
    with pytest.raises(BadRequest):
        check_image_thresholds(high, low)
