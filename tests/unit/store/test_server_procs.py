"""How many Go threads the embedded nats-server may run: half the CPUs, unless the user said."""

from __future__ import annotations

import pytest

from bus.embedded import server_procs


@pytest.mark.parametrize(
    ("cpus", "expected"), [(1, "1"), (2, "1"), (3, "1"), (4, "2"), (16, "8"), (None, "1")]
)
def test_half_the_cpus_and_at_least_one(cpus: int | None, expected: str) -> None:
    assert server_procs(cpus, {}) == expected


def test_a_gomaxprocs_in_the_environment_wins() -> None:
    assert server_procs(16, {"GOMAXPROCS": "3"}) == "3"
    assert server_procs(16, {"GOMAXPROCS": ""}) == "8"
