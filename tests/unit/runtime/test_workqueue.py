"""WorkQueue semantics (client-go's) and the worker loop."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from structlog.testing import capture_logs

from actors.runtime.backoff import Backoff, delay_for
from actors.runtime.supervisor import guarded_task
from actors.runtime.workqueue import WorkQueue, run_workers
from schemas.errors import Conflict, NotFound
from tests.unit.runtime.fakes import eventually


async def nothing_within(queue: WorkQueue, seconds: float = 0.05) -> bool:
    """True when ``get`` hands out nothing for ``seconds`` (asserting an absence needs a window)."""
    try:
        key = await asyncio.wait_for(queue.get(), seconds)
    except TimeoutError:
        return True
    queue.done(key or "")
    return False


async def test_dedupe_queued_key_is_processed_once() -> None:
    q = WorkQueue()
    for key in ["a", "b", "a", "a", "b", "c"]:
        q.add(key)
    assert len(q) == 3
    got = [await q.get() for _ in range(3)]
    assert got == ["a", "b", "c"]  # FIFO by first add
    assert len(q) == 0
    for key in got:
        q.done(key)  # type: ignore[arg-type]
    assert await nothing_within(q)


async def test_key_in_processing_is_not_handed_out_again_until_done() -> None:
    q = WorkQueue()
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0  # dirty, but held back while "a" is processed
    assert await nothing_within(q)
    q.done("a")
    assert len(q) == 1  # re-added once, whatever the number of adds
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0


async def test_done_without_readd_does_not_requeue() -> None:
    q = WorkQueue()
    q.add("a")
    key = await q.get()
    q.done(key)  # type: ignore[arg-type]
    assert len(q) == 0 and q.processing == frozenset()


@pytest.mark.parametrize(
    ("base", "cap", "expected"),
    [
        (0.005, 1000.0, [0.005, 0.01, 0.02, 0.04, 0.08]),
        (1.0, 4.0, [1.0, 2.0, 4.0, 4.0, 4.0]),
        (0.5, 30.0, [0.5, 1.0, 2.0, 4.0, 8.0]),
    ],
)
def test_backoff_growth_and_cap(base: float, cap: float, expected: list[float]) -> None:
    q = WorkQueue(base_delay=base, max_delay=cap)
    assert [q.when("k") for _ in expected] == pytest.approx(expected)
    assert q.num_requeues("k") == len(expected)
    assert q.num_requeues("other") == 0
    q.forget("k")
    assert q.num_requeues("k") == 0
    assert q.when("k") == pytest.approx(base)


def test_backoff_helper_never_overflows() -> None:
    assert delay_for(10_000, 0.005, 1000.0) == 1000.0
    b = Backoff(0.5, 30.0)
    assert [b.next() for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    b.reset()
    assert b.next() == 0.5


async def test_add_rate_limited_waits_then_queues() -> None:
    q = WorkQueue(base_delay=0.05)
    q.add_rate_limited("a")
    assert len(q) == 0 and q.num_waiting == 1
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await asyncio.wait_for(q.get(), 2) == "a"  # get wakes up for the delayed key by itself
    assert loop.time() - start >= 0.045
    assert q.num_requeues("a") == 1


async def test_add_after_earliest_wins_and_dedupes_with_queue() -> None:
    q = WorkQueue()
    q.add_after("a", 5.0)
    q.add_after("a", 0.02)
    q.add_after("a", 3.0)  # later than pending: ignored
    assert q.num_waiting == 1
    await eventually(lambda: len(q) == 1, what="delayed key ready")
    q.add("a")  # already queued: dedupe
    assert len(q) == 1
    assert q.num_waiting == 0


async def test_shutdown_releases_waiting_getters_and_refuses_adds() -> None:
    q = WorkQueue()
    getters = [guarded_task(f"getter-{i}", q.get()) for i in range(3)]
    await asyncio.sleep(0)
    q.shutdown()
    assert await asyncio.wait_for(asyncio.gather(*getters), 1) == [None, None, None]
    q.add("a")
    q.add_after("b", 0.01)
    assert len(q) == 0 and await q.get() is None


async def test_workers_never_run_one_key_twice_at_once() -> None:
    q = WorkQueue()
    running: set[str] = set()
    overlap: list[str] = []
    count: dict[str, int] = {}

    async def reconcile(key: str) -> None:
        if key in running:
            overlap.append(key)
        running.add(key)
        count[key] = count.get(key, 0) + 1
        await asyncio.sleep(0.01)
        running.discard(key)

    workers = guarded_task("workers", run_workers(q, reconcile, 4))
    for _ in range(20):
        for key in ("a", "b", "c"):
            q.add(key)
        await asyncio.sleep(0.002)
    await eventually(lambda: len(q) == 0 and not q.processing, what="queue drained")
    q.shutdown()
    await asyncio.wait_for(workers, 1)
    assert overlap == []
    assert set(count) == {"a", "b", "c"}
    assert all(n < 20 for n in count.values())  # deduped
    assert all(n >= 2 for n in count.values())  # re-added while processing: processed again


async def test_worker_retries_with_backoff_then_forgets_on_success() -> None:
    q = WorkQueue(base_delay=0.01)
    attempts: list[float] = []
    loop = asyncio.get_running_loop()

    async def reconcile(key: str) -> None:
        attempts.append(loop.time())
        if len(attempts) <= 3:
            raise NotFound("configmap x not found")
        if len(attempts) == 4:
            raise RuntimeError("bug")

    with capture_logs() as logs:
        workers = guarded_task("workers", run_workers(q, reconcile, 1, name="test"))
        q.add("k")
        await eventually(lambda: len(attempts) == 5, what="five attempts")
        await eventually(lambda: not q.processing)
        q.shutdown()
        await asyncio.wait_for(workers, 1)
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert [g >= d * 0.9 for g, d in zip(gaps, [0.01, 0.02, 0.04, 0.08], strict=True)] == [True] * 4
    assert q.num_requeues("k") == 0  # forgotten after the success
    events = [e["event"] for e in logs]
    assert events.count("reconcile.failed") == 3
    assert events.count("reconcile.crashed") == 1
    assert next(e for e in logs if e["event"] == "reconcile.crashed")["exc_info"].args == ("bug",)


async def test_conflict_requeues_quickly_without_error_log() -> None:
    q = WorkQueue()
    calls: list[str] = []

    async def reconcile(key: str) -> None:
        calls.append(key)
        if len(calls) == 1:
            raise Conflict("pods x: the object has been modified")

    with capture_logs() as logs:
        workers = guarded_task("workers", run_workers(q, reconcile, 2))
        q.add("k")
        await eventually(lambda: len(calls) == 2, timeout=1, what="requeue after conflict")
        q.shutdown()
        await asyncio.wait_for(workers, 1)
    assert [e["log_level"] for e in logs if e["event"].startswith("reconcile.")] == ["debug"]


async def test_cancelled_reconcile_is_requeued() -> None:
    q = WorkQueue()
    started = asyncio.Event()

    async def reconcile(key: str) -> None:
        started.set()
        await asyncio.sleep(10)

    workers = guarded_task("workers", run_workers(q, reconcile, 1))
    q.add("k")
    await asyncio.wait_for(started.wait(), 1)
    workers.cancel()
    await asyncio.wait({workers}, timeout=1)
    assert workers.cancelled()
    assert len(q) == 1 and not q.processing  # ready for the next term's workers
