"""Shared fixtures: a real nats-server per test (free port, temporary store), a Bus, the Store,
and an in-process control plane (the api actor) with an ApiClient.

``store_dir -> nats_server -> bus -> store``, as nats.py's own tests are built.

Two hooks for the whole run:

* With ``JETKUBE_REQUIRE_DOCKER=1`` (what ``.ci/run`` sets) a skipped test is a failure: CI has
  Docker and NATS, so nothing may quietly not run there.
* Under pytest-xdist (``-n``), the test bed's tests share one worker (one bed per session), and
  ``tests/e2e/controlplane`` stays on one worker (its modules share one cluster, in order).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bus.connection import Bus
from bus.embedded import EmbeddedNats, free_port
from bus.store import Store

TESTS = Path(__file__).resolve().parent

# Property tests check what they find, not how fast: on a loaded CI machine (-n 3 on 2 cores)
# Hypothesis' per-example deadline and its "generation is slow" health check fail tests that are
# right. Examples are still bounded by each test's own settings and the run's timeout.
settings.register_profile("jetkube", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jetkube")


def _xdist_group(item: pytest.Item) -> str | None:
    rel = Path(str(item.fspath)).resolve().relative_to(TESTS)
    if rel.parts[0] in ("testbed", "testbed_node_engines"):  # one bed per machine: one worker
        return "testbed"
    if rel.parts[:2] == ("e2e", "controlplane"):
        return "e2e-controlplane"
    return None


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """Every test starts with structlog's defaults. A CLI command run in-process (CliRunner)
    configures structlog for its own output: errors only, to the runner's stream, which is closed
    once the command returns; left in place, that would hide the logs later tests capture and
    write to a closed file."""
    import structlog

    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        group = _xdist_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
        if asyncio.iscoroutinefunction(getattr(item, "obj", None)):
            item.fixturenames.insert(0, "_asyncio_watchdog")  # type: ignore[attr-defined]


def _await_chain(coro: object) -> list[str]:
    """Where a coroutine waits: its frame, the frame it awaits, and so on down (through async
    generators too, which ``Task.print_stack`` does not follow)."""
    import gc

    lines: list[str] = []
    for _ in range(60):
        if coro is None:
            break
        frame = (
            getattr(coro, "cr_frame", None)
            or getattr(coro, "gi_frame", None)
            or getattr(coro, "ag_frame", None)
        )
        if frame is not None:
            lines.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        nxt = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "gi_yieldfrom", None)
            or getattr(coro, "ag_await", None)
        )
        if nxt is None and type(coro).__name__ in ("async_generator_asend", "async_generator_athrow"):
            nxt = next((r for r in gc.get_referents(coro) if hasattr(r, "ag_frame")), None)
        if nxt is None and frame is None:
            lines.append(repr(coro)[:200])
        coro = nxt
    return lines


@pytest.fixture
async def _asyncio_watchdog(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Shortly before pytest-timeout fires, write every asyncio task's stack to stderr.

    pytest-timeout shows only the threads' stacks, and in an asyncio test the one thread is idle
    in select(): the coroutine that hangs is invisible there. This names it."""
    marker = request.node.get_closest_marker("timeout")
    limit = float(marker.args[0]) if marker and marker.args else float(request.config.getini("timeout") or 0)
    if limit <= 0:
        yield
        return

    async def dump() -> None:
        await asyncio.sleep(max(limit - 15, limit * 0.9))
        print(f"\n=== asyncio tasks of {request.node.nodeid} before its timeout ===", file=sys.stderr)
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                print(f"--- {task!r}"[:400], file=sys.stderr)
                for line in _await_chain(task.get_coro()):
                    print(f"    {line}", file=sys.stderr)

    watchdog = asyncio.create_task(dump(), name="test-watchdog")
    try:
        yield
    finally:
        watchdog.cancel()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("JETKUBE_REQUIRE_DOCKER") == "1" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under JETKUBE_REQUIRE_DOCKER=1 (CI must run every test): {reason}"


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(data_dir=tmp_path / "nats", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_url(nats_server: EmbeddedNats) -> str:
    return nats_server.url


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    b = await Bus.connect(nats_url, name="test")
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture
async def store(bus: Bus) -> Store:
    return await Store.open(bus)


@pytest.fixture
async def control_plane(bus: Bus, store: Store) -> AsyncIterator[object]:
    """The api actor running in this process, ready to serve; yields the ApiActor."""
    from actors.api.actor import ApiActor
    from actors.runtime.supervisor import Supervisor

    sup = Supervisor()
    actor = ApiActor(bus, store)
    actor.start(sup)
    await actor.ready()
    await asyncio.wait_for(_until_namespaces(store), 10)
    try:
        yield actor
    finally:
        await sup.stop()


async def _until_namespaces(store: Store) -> None:
    while True:
        items, _ = await store.list("namespaces")
        if {"default", "kube-system"} <= {n["metadata"]["name"] for n in items}:
            return
        await asyncio.sleep(0.02)


@pytest.fixture
async def api(bus: Bus, control_plane: object):
    from bus.client import ApiClient

    return ApiClient(bus)
