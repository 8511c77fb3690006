"""Process trees as the tests check them: by pid, from /proc."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cli.datadir import alive


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren...)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return {p for p in found if alive(p)}


def wait_gone(pids: set[int], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while left := {p for p in pids if alive(p)}:
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still running after {timeout}s: {sorted(left)}")
        time.sleep(0.05)
