"""The kubelet's pod-stream decisions (bus/nodestream.py), as tables."""

from __future__ import annotations

import pytest

from bus.nodestream import NodeView, RelaySequences, Verdict


def pod(name: str, rv: int) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": str(rv)}}


@pytest.mark.parametrize(
    ("listed", "messages", "verdicts"),
    [
        (("a", 3), [("a", 4), ("a", 5)], [Verdict.IN_ORDER, Verdict.IN_ORDER]),
        (("a", 3), [("a", 5)], [Verdict.GAP]),  # message 4 was lost
        (("a", 3), [("a", 2), ("a", 3)], [Verdict.REPEAT, Verdict.REPEAT]),  # already in the listing
        (("a", 3), [("b", 9), ("b", 10), ("b", 12)], [Verdict.NEW_RELAY, Verdict.IN_ORDER, Verdict.GAP]),
        (("a", 3), [(None, None)], [Verdict.IN_ORDER]),  # a relay from before sequence numbers
    ],
)
def test_relay_sequences(listed, messages, verdicts) -> None:
    seqs = RelaySequences()
    seqs.listed(*listed)
    assert [seqs.judge(r, s) for r, s in messages] == verdicts


def test_a_listing_turns_what_the_gap_hid_into_events() -> None:
    view = NodeView()
    assert [(t, o["metadata"]["name"]) for t, o in view.corrections([pod("p1", 5), pod("p2", 6)], 10)] == [
        ("ADDED", "p1"),
        ("ADDED", "p2"),
    ]
    assert view.accept("ADDED", pod("p4", 12))  # from a relay ahead of the next listing
    # in the gap: p1 deleted, p2 changed, p3 bound
    found = view.corrections([pod("p2", 8), pod("p3", 9)], 11)
    assert [(t, o["metadata"]["name"]) for t, o in found] == [
        ("MODIFIED", "p2"),
        ("ADDED", "p3"),
        ("DELETED", "p1"),
    ]  # p4 (12) is newer than the listing (11): it stays
    assert set(view.live) == {"default/p2", "default/p3", "default/p4"}


@pytest.mark.parametrize(
    ("type_", "obj", "news"),
    [
        ("MODIFIED", pod("p1", 5), False),  # the state already held
        ("MODIFIED", pod("p1", 7), True),
        ("ADDED", pod("gone", 3), False),  # unknown and older than the listing: deleted since
        ("ADDED", pod("new", 11), True),
        ("DELETED", pod("p1", 5), True),  # a delete found by a relay's re-list: the last state's rv
        ("DELETED", pod("unknown", 12), False),
    ],
)
def test_which_relayed_events_are_news(type_, obj, news) -> None:
    view = NodeView()
    view.corrections([pod("p1", 5)], 10)
    assert view.accept(type_, obj) is news


def test_a_late_add_of_a_pod_deleted_by_a_listing_is_dropped() -> None:
    view = NodeView()
    view.corrections([pod("p1", 5)], 10)
    view.corrections([], 12)
    assert not view.accept("ADDED", pod("p1", 5))
