"""The test bed's fault tests: one bed (compose.yaml) per session, brought up once and torn down.

Every test here is marked ``testbed`` (``pytest -m testbed`` runs only them, ``-m "not testbed"``
skips them) and runs in a fixed order, disruptive ones last: each test that breaks something
(kills a server, stops or cuts off a node) restores it and waits for the bed to be whole again
before it ends, so the next test starts from three Ready nodes and a healthy NATS cluster.

Without a Docker engine the tests skip, unless ``JETKUBE_REQUIRE_DOCKER=1`` (CI), where that is a
failure. ``JETKUBE_TESTBED_KEEP=1`` leaves the bed running after the session, for a look around.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.testbed import Testbed
from tests.testbed.session import bed_session, run_last_in_order

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# the order the modules run in: the least disruptive first, the whole-bed restart last
ORDER = (
    "test_nats_fault",
    "test_controlplane_failover",
    "test_seed_e2e",
    "test_node_stop",
    "test_node_partition",
    "test_chaos",
    "test_restart",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "testbed: needs the multi-node test bed (compose.yaml, Docker)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the bed's tests and run them after everything else, in ORDER (stable inside a module)."""
    run_last_in_order(items, HERE, ORDER)


@pytest.fixture(scope="session")
def testbed() -> Iterator[Testbed]:
    """The running bed with three Ready nodes; torn down (volumes and pods too) at the end."""
    yield from bed_session(REPO / "compose.yaml", "test bed")
