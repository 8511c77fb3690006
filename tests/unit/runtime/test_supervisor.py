"""Supervisor: restarts with backoff, one-shot children, ordered stop, signals; guarded tasks."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal

import pytest
from structlog.testing import capture_logs

from actors.runtime.supervisor import Supervisor, guarded_task
from schemas.errors import InternalError
from tests.unit.runtime.fakes import eventually


async def test_crashed_child_restarts_with_growing_backoff() -> None:
    sup = Supervisor(backoff_base=0.02, backoff_cap=0.08)
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def flaky() -> None:
        starts.append(loop.time())
        if len(starts) <= 4:
            raise RuntimeError(f"crash {len(starts)}")
        await asyncio.Event().wait()

    with capture_logs() as logs:
        child = sup.spawn("flaky", flaky)
        await eventually(lambda: len(starts) == 5, what="four restarts")
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    for gap, delay in zip(gaps, [0.02, 0.04, 0.08, 0.08], strict=True):  # doubling, capped
        assert gap >= delay * 0.9
    assert child.restarts == 4 and child.running
    crashes = [e for e in logs if e["event"] == "task.crashed"]
    assert [e["restart_in"] for e in crashes] == [0.02, 0.04, 0.08, 0.08]
    assert crashes[0]["log_level"] == "error" and str(crashes[0]["exc_info"]) == "crash 1"
    await sup.stop()


async def test_backoff_resets_after_a_healthy_run() -> None:
    sup = Supervisor(backoff_base=0.01, backoff_cap=10.0, healthy_after=0.03)
    runs: list[int] = []

    async def crashes_after_running_a_while() -> None:
        runs.append(1)
        await asyncio.sleep(0.04)  # longer than healthy_after
        raise RuntimeError("late crash")

    with capture_logs() as logs:
        sup.spawn("late", crashes_after_running_a_while)
        await eventually(lambda: len(runs) >= 4, what="several runs")
    delays = [e["restart_in"] for e in logs if e["event"] == "task.crashed"]
    assert delays[:3] == [0.01, 0.01, 0.01]
    await sup.stop()


async def test_one_shot_child_is_not_restarted_and_finished_children_are_dropped() -> None:
    sup = Supervisor(backoff_base=0.01)
    calls: list[str] = []

    async def boom() -> None:
        calls.append("boom")
        raise RuntimeError("once")

    async def done() -> None:
        calls.append("done")

    with capture_logs() as logs:
        sup.spawn("boom", boom, restart=False)
        sup.spawn("done", done)  # restart=True, but returning normally means finished
        await eventually(lambda: not sup.children, what="children finished")
    assert sorted(calls) == ["boom", "done"]
    assert [e["event"] for e in logs if e["event"] == "task.crashed"] == ["task.crashed"]
    sup.spawn("done", done)  # the name is free again
    await sup.stop()


async def test_duplicate_running_name_is_refused() -> None:
    sup = Supervisor()
    sup.spawn("x", lambda: asyncio.Event().wait())
    with pytest.raises(InternalError):
        sup.spawn("x", lambda: asyncio.Event().wait())
    await sup.stop()
    with pytest.raises(InternalError):
        sup.spawn("y", lambda: asyncio.Event().wait())


async def test_stop_cancels_in_reverse_start_order_waiting_for_each() -> None:
    sup = Supervisor()
    trail: list[str] = []

    def agent(name: str):
        async def run() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                trail.append(f"{name}:cancelled")
                await asyncio.sleep(0.01)  # cleanup that takes a while
                trail.append(f"{name}:cleaned")
                raise

        return run

    for name in ("informer", "controller", "api"):
        sup.spawn(name, agent(name))
    await asyncio.sleep(0)
    await sup.stop()
    assert trail == [
        "api:cancelled",
        "api:cleaned",
        "controller:cancelled",
        "controller:cleaned",
        "informer:cancelled",
        "informer:cleaned",
    ]
    assert sup.children == []


async def test_stop_gives_up_on_a_child_that_ignores_cancellation() -> None:
    sup = Supervisor(stop_timeout=0.05)
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await release.wait()

    child = sup.spawn("stubborn", stubborn)
    await asyncio.sleep(0)
    with capture_logs() as logs:
        await asyncio.wait_for(sup.stop(), 1)
    assert "task.stop_timeout" in [e["event"] for e in logs]
    release.set()
    assert child.task is not None
    await asyncio.wait_for(child.task, 1)


async def test_sigterm_stops_children_in_order() -> None:
    sup = Supervisor()
    stopped: list[str] = []

    def agent(name: str):
        async def run() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                stopped.append(name)

        return run

    sup.spawn("first", agent("first"))
    sup.spawn("second", agent("second"))
    runner = guarded_task("runner", sup.run_until_signal())
    await asyncio.sleep(0)  # run_until_signal installs its handlers before its first await
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(runner, 2)
    assert stopped == ["second", "first"]
    loop = asyncio.get_running_loop()
    assert not loop.remove_signal_handler(signal.SIGTERM)  # handler was removed again


async def test_request_stop_ends_run_until_signal() -> None:
    sup = Supervisor()
    sup.spawn("idle", lambda: asyncio.Event().wait())
    runner = guarded_task("runner", sup.run_until_signal())
    await asyncio.sleep(0)
    sup.request_stop()
    await asyncio.wait_for(runner, 1)
    assert sup.children == []


async def test_guarded_task_logs_its_exception() -> None:
    async def fails() -> None:
        raise RuntimeError("side job failed")

    with capture_logs() as logs:
        task = guarded_task("side-job", fails())
        await asyncio.wait({task})
        await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert task.get_name() == "side-job"
    failed = [e for e in logs if e["event"] == "task.failed"]
    assert failed and failed[0]["task"] == "side-job"
