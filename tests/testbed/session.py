"""What both beds' conftests share (tests/testbed: compose.yaml; tests/testbed_node_engines:
compose.node-engines.yaml): their tests run after every other test, in a fixed module order, and one
bed per session is brought up once and torn down at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from cli.testbed import Testbed


def run_last_in_order(items: list[pytest.Item], here: Path, order: Sequence[str]) -> None:
    """Mark the tests under ``here`` (testbed, docker) and move them after everything else, their
    modules in ``order`` (the least disruptive first; stable inside a module)."""

    def rank(item: pytest.Item) -> int:
        name = Path(str(item.fspath)).stem
        return order.index(name) if name in order else len(order)

    ours = [i for i in items if here in Path(str(i.fspath)).parents]
    for item in ours:
        item.add_marker(pytest.mark.testbed)
        item.add_marker(pytest.mark.docker)
    ours.sort(key=rank)
    mine = {id(i) for i in ours}
    items[:] = [i for i in items if id(i) not in mine] + ours


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "version"], capture_output=True, check=False).returncode == 0


def bed_session(compose_file: Path, what: str) -> Iterator[Testbed]:
    """A clean bed from ``compose_file``, up with three Ready nodes; torn down (volumes and pods too)
    at the end unless ``JETKUBE_TESTBED_KEEP=1``. Without a Docker engine: a skip, or a failure
    under ``JETKUBE_REQUIRE_DOCKER=1`` (CI)."""
    if not docker_available():
        if os.environ.get("JETKUBE_REQUIRE_DOCKER") == "1":
            pytest.fail("JETKUBE_REQUIRE_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine")
    bed = Testbed.find(compose_file)
    t0 = time.monotonic()
    bed.down()  # a clean slate, whatever an earlier run left
    bed.up(build=True)
    try:
        bed.wait_ready(timeout=180)
        print(f"\n{what} up in {time.monotonic() - t0:.1f}s")
        yield bed
    finally:
        if os.environ.get("JETKUBE_TESTBED_KEEP") != "1":
            bed.down()
