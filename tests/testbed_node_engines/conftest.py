"""The test bed with node engines (``jetkube testbed up --node-engines``, compose.node-engines.yaml):
every node a host with its own Docker engine, proxy and network namespace, pods on the Flannel pod
network across them. One bed per session, brought up once and torn down.

Opt-in: the tests run only with ``JETKUBE_TESTBED_NODE_ENGINES=1`` (they skip otherwise), and never
in the same session as tests/testbed/ (both beds are the compose project ``jetkube-testbed``):
``JETKUBE_TESTBED_NODE_ENGINES=1 flock /tmp/jetkube-testbed.lock python -m pytest
tests/testbed_node_engines -p no:randomly``. Disruptive tests (test_pod_network_faults) run last.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.testbed import Testbed
from tests.testbed.session import bed_session, run_last_in_order

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ORDER = ("test_pod_network", "test_pod_network_faults")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    run_last_in_order(items, HERE, ORDER)


@pytest.fixture(scope="session")
def testbed() -> Iterator[Testbed]:
    """The running node-engines bed with three Ready nodes; torn down at the end."""
    if os.environ.get("JETKUBE_TESTBED_NODE_ENGINES") != "1":
        pytest.skip("the node-engines bed is opt-in: JETKUBE_TESTBED_NODE_ENGINES=1")
    yield from bed_session(REPO / "compose.node-engines.yaml", "node-engines test bed")
