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
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bus.connection import Bus
from bus.embedded import EmbeddedNats, free_port
from bus.store import Store

TESTS = Path(__file__).resolve().parent


def _xdist_group(item: pytest.Item) -> str | None:
    rel = Path(str(item.fspath)).resolve().relative_to(TESTS)
    if rel.parts[0] == "testbed":
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
