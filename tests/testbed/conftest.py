"""The test bed's fault tests: one bed (compose.yaml) per session, brought up once and torn down.

Every test here is marked ``testbed`` (``pytest -m testbed`` runs only them, ``-m "not testbed"``
skips them) and runs in a fixed order, disruptive ones last: each test that breaks something
(kills a server, stops or cuts off a node) restores it and waits for the bed to be whole again
before it ends, so the next test starts from three Ready nodes and a healthy NATS cluster.

Without a Docker engine the tests skip, unless ``JETKUBE_REQUIRE_DOCKER=1`` (CI), where that is a
failure. ``JETKUBE_TESTBED_KEEP=1`` leaves the bed running after the session, for a look around.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.testbed import Testbed

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# the order the modules run in: the least disruptive first, the whole-bed restart last
ORDER = (
    "test_nats_fault",
    "test_controlplane_failover",
    "test_seed_e2e",
    "test_node_stop",
    "test_node_partition",
    "test_restart",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "testbed: needs the multi-node test bed (compose.yaml, Docker)")


def _rank(item: pytest.Item) -> int:
    name = Path(str(item.fspath)).stem
    return ORDER.index(name) if name in ORDER else len(ORDER)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the bed's tests and run them after everything else, in ORDER (stable inside a module)."""
    ours = [i for i in items if HERE in Path(str(i.fspath)).parents]
    for item in ours:
        item.add_marker(pytest.mark.testbed)
        item.add_marker(pytest.mark.docker)
    ours.sort(key=_rank)
    mine = {id(i) for i in ours}
    items[:] = [i for i in items if id(i) not in mine] + ours


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    proc = subprocess.run(["docker", "version"], capture_output=True, check=False)
    return proc.returncode == 0


@pytest.fixture(scope="session")
def testbed() -> Iterator[Testbed]:
    """The running bed with three Ready nodes; torn down (volumes and pods too) at the end."""
    if not docker_available():
        if os.environ.get("JETKUBE_REQUIRE_DOCKER") == "1":
            pytest.fail("JETKUBE_REQUIRE_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine")
    bed = Testbed.find(REPO / "compose.yaml")
    t0 = time.monotonic()
    bed.down()  # a clean slate, whatever an earlier run left
    bed.up(build=True)
    try:
        bed.wait_ready(timeout=180)
        print(f"\ntest bed up in {time.monotonic() - t0:.1f}s")
        yield bed
    finally:
        if os.environ.get("JETKUBE_TESTBED_KEEP") != "1":
            bed.down()
