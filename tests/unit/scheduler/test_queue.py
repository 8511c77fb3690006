"""SchedulingQueue: dedupe, unschedulable parking, coalesced moves and the periodic flush."""

from __future__ import annotations

import asyncio

from actors.scheduler.queue import SchedulingQueue


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_dedupe_and_order() -> None:
    q = SchedulingQueue()
    for key in ["a", "b", "a", "c"]:
        q.add(key)
    q.remove("b")
    assert q.pop_batch(10) == ["a", "c"] and len(q) == 0


def test_batches() -> None:
    q = SchedulingQueue()
    for i in range(5):
        q.add(str(i))
    assert q.pop_batch(2) == ["0", "1"] and q.pop_batch(10) == ["2", "3", "4"]


def test_unschedulable_wait_for_a_move() -> None:
    clock = Clock()
    q = SchedulingQueue(move_interval=1.0, flush_interval=30.0, clock=clock)
    q.mark_unschedulable("p", "0/1 nodes are available: 1 Insufficient cpu.")
    assert not q.move_due() and len(q) == 0  # nothing asked for a move: no retry (no busy loop)
    q.request_move()
    clock.now = 0.5
    assert not q.move_due()  # moves are coalesced: at most one per move_interval
    clock.now = 1.0
    assert q.move_due() and q.pop_batch(10) == ["p"]


def test_periodic_flush() -> None:
    clock = Clock()
    q = SchedulingQueue(move_interval=1.0, flush_interval=30.0, clock=clock)
    q.mark_unschedulable("p", "m")
    clock.now = 29.0
    assert not q.move_due()
    clock.now = 30.0
    assert q.move_due() and q.pop_batch(10) == ["p"]


def test_add_takes_a_pod_out_of_unschedulable() -> None:
    q = SchedulingQueue()
    q.mark_unschedulable("p", "m")
    q.add("p")
    assert q.unschedulable == {} and q.pop_batch(1) == ["p"]


def test_move_request_without_unschedulable_pods_is_dropped() -> None:
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    q.request_move()
    clock.now = 5
    assert not q.move_due()


async def test_wait_wakes_on_add() -> None:
    q = SchedulingQueue()
    waiter = asyncio.ensure_future(q.wait())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    q.add("p")
    await asyncio.wait_for(waiter, 1)


async def test_wait_moves_after_request() -> None:
    q = SchedulingQueue(move_interval=0.05)
    q.mark_unschedulable("p", "m")
    waiter = asyncio.ensure_future(q.wait())
    await asyncio.sleep(0.01)
    q.request_move()
    await asyncio.wait_for(waiter, 1)
    assert q.pop_batch(1) == ["p"]


def test_a_pod_keeps_the_time_it_first_entered_across_attempts_until_removed() -> None:
    clock = Clock()
    q = SchedulingQueue(move_interval=1.0, flush_interval=30.0, clock=clock)
    clock.now = 2.0
    q.add("p")
    assert q.pop_batch(10) == ["p"]
    q.mark_unschedulable("p", "0/1 nodes are available")
    clock.now = 5.0
    q.request_move()
    assert q.move_due() and q.pop_batch(10) == ["p"]  # a second attempt
    assert q.entered("p") == 2.0  # what the per-pod scheduling duration is measured from
    q.remove("p")  # bound (or deleted): forgotten
    assert q.entered("p") is None
