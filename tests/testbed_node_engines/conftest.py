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
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.testbed import Testbed

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ORDER = ("test_pod_network", "test_pod_network_faults")


def _rank(item: pytest.Item) -> int:
    name = Path(str(item.fspath)).stem
    return ORDER.index(name) if name in ORDER else len(ORDER)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
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
    return subprocess.run(["docker", "version"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="session")
def testbed() -> Iterator[Testbed]:
    """The running node-engines bed with three Ready nodes; torn down at the end."""
    if os.environ.get("JETKUBE_TESTBED_NODE_ENGINES") != "1":
        pytest.skip("the node-engines bed is opt-in: JETKUBE_TESTBED_NODE_ENGINES=1")
    if not docker_available():
        pytest.skip("no Docker engine")
    bed = Testbed.find(REPO / "compose.node-engines.yaml")
    t0 = time.monotonic()
    bed.down()
    bed.up(build=True)
    try:
        bed.wait_ready(timeout=180)
        print(f"\nnode-engines test bed up in {time.monotonic() - t0:.1f}s")
        yield bed
    finally:
        if os.environ.get("JETKUBE_TESTBED_KEEP") != "1":
            bed.down()
