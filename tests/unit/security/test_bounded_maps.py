"""Hole 9 (the kubelet's part): the node-pod watch's memory of stale events never outgrows the
listing it started from (it once kept every pod ever bound to the node)."""

from __future__ import annotations

import pytest

from bus.client import StaleFilter


def test_the_stale_filter_forgets_pods_past_the_listing() -> None:
    f = StaleFilter(listed_rv=100)
    f.listed("ns/a", 90)
    f.listed("ns/b", 100)
    # a thousand pods come and go after the listing: nothing of them is kept
    for i in range(1000):
        assert f.keep(f"ns/p{i}", 101 + 2 * i)
        assert f.keep(f"ns/p{i}", 102 + 2 * i)
    assert len(f) == 2
    assert f.keep("ns/a", 2200)  # a listed pod changes: forgotten too
    assert len(f) == 1


@pytest.mark.parametrize(
    ("key", "rv", "kept"),
    [
        ("ns/a", 90, False),  # the listing had it
        ("ns/a", 80, False),  # older than the listing's
        ("ns/a", 95, True),  # newer than the listing's, though below the listed revision
        ("ns/x", 99, False),  # not listed, below the listed revision: the listing was newer
        ("ns/x", 101, True),  # after the listing
    ],
)
def test_which_events_pass(key: str, rv: int, kept: bool) -> None:
    f = StaleFilter(listed_rv=100)
    f.listed("ns/a", 90)
    assert f.keep(key, rv) is kept
