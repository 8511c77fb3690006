"""The memory guard's decisions as tables: when the api refuses work, and which cgroup may get
the limit (only one the process has to itself)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import typer

from actors.runtime.memguard import (
    MIB,
    MemoryGuard,
    cgroup_may_be_limited,
    decide,
    memory_cgroup_dir,
    watch,
    watch_action,
)
from cli.serving import parse_memory_limit
from schemas.errors import ServiceUnavailable

LIMIT = 1000 * MIB


@pytest.mark.parametrize(
    ("verb", "rss", "limit", "admit"),
    [
        ("create", 10 * LIMIT, None, True),  # no limit: everything goes
        ("create", 10 * LIMIT, 0, True),
        ("create", 849 * MIB, LIMIT, True),
        ("create", 850 * MIB, LIMIT, False),  # 85%: new work refused
        ("patch", 900 * MIB, LIMIT, False),
        ("list", 900 * MIB, LIMIT, False),
        ("update", 900 * MIB, LIMIT, False),
        ("delete", 900 * MIB, LIMIT, True),  # frees memory: served up to the limit itself
        ("get", 999 * MIB, LIMIT, True),
        ("get", LIMIT, LIMIT, False),
        ("delete", 2 * LIMIT, LIMIT, False),
    ],
)
def test_decide(verb: str, rss: int, limit: int | None, admit: bool) -> None:
    verdict = decide(verb, rss, limit)
    assert verdict.admit is admit
    if not admit:
        assert "--memory-limit" in verdict.reason and f"refuses {verb}" in verdict.reason


def test_a_guard_past_its_limit_is_a_503_with_the_reason() -> None:
    guard = MemoryGuard(limit=64 * MIB)  # this test process holds more than that
    with pytest.raises(ServiceUnavailable) as info:
        guard.check("create")
    assert info.value.code == 503
    assert "of its 64 MiB --memory-limit" in info.value.message
    MemoryGuard(limit=None).check("create")  # no limit: never refuses


@pytest.mark.parametrize(
    ("procs", "own", "may"),
    [([42], 42, True), ([1, 42], 42, False), ([7], 42, False), ([], 42, False)],
)
def test_only_a_cgroup_of_its_own_gets_the_limit(procs: list[int], own: int, may: bool) -> None:
    assert cgroup_may_be_limited(procs, own) is may


def _cgroup(root: Path, rel: str, limit_file: str) -> Path:
    d = root / rel
    d.mkdir(parents=True)
    (d / limit_file).write_text("max\n")
    (d / "cgroup.procs").write_text("1\n")
    return d


def test_memory_cgroup_dir_v1_and_v2(tmp_path: Path) -> None:
    v1 = _cgroup(tmp_path / "v1", "memory/jk/up", "memory.limit_in_bytes")
    assert memory_cgroup_dir("12:pids:/jk/up\n9:memory:/jk/up\n", tmp_path / "v1") == v1
    v2 = _cgroup(tmp_path / "v2", "user.slice/jk.scope", "memory.max")
    assert memory_cgroup_dir("0::/user.slice/jk.scope\n", tmp_path / "v2") == v2
    # inside a container the path names the host's cgroup but the namespace's root is mounted
    ns = _cgroup(tmp_path / "ns", "memory", "memory.limit_in_bytes")
    assert memory_cgroup_dir("9:memory:/docker/abc\n", tmp_path / "ns") == ns
    assert memory_cgroup_dir("9:cpu:/x\n", tmp_path / "ns") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [("", None), ("512Mi", 512 * MIB), ("2Gi", 2048 * MIB), ("1G", 10**9), ("67108864", 64 * MIB)],
)
def test_parse_memory_limit(text: str, want: int | None) -> None:
    assert parse_memory_limit(text) == want


@pytest.mark.parametrize("text", ["lots", "10", "1Mi", "-1Gi"])
def test_a_bad_memory_limit_names_the_flag_and_the_rule(text: str) -> None:
    with pytest.raises(typer.BadParameter) as info:
        parse_memory_limit(text)
    assert "at least 64Mi" in str(info.value)


@pytest.mark.parametrize(
    ("rss", "limit", "enforced_by", "action"),
    [
        (900 * MIB, None, "", "ok"),
        (849 * MIB, LIMIT, "watched", "ok"),
        (850 * MIB, LIMIT, "watched", "high"),  # the api refuses from here; the watcher logs and trims
        (LIMIT, LIMIT, "watched", "stop"),  # nothing else stops it: stop in order
        (LIMIT, LIMIT, "cgroup /sys/fs/cgroup/memory/jk", "high"),  # the kernel enforces its own limit
    ],
)
def test_watch_action(rss: int, limit: int | None, enforced_by: str, action: str) -> None:
    assert watch_action(rss, limit, enforced_by) == action


class _Sup:
    stops = 0

    def request_stop(self) -> None:
        self.stops += 1


async def test_the_watcher_stops_a_process_past_a_watched_limit() -> None:
    guard = MemoryGuard(limit=64 * MIB)  # this test process holds more than that
    guard.enforced_by = "watched"
    sup = _Sup()
    await asyncio.wait_for(watch(sup, guard, every=0.01), 10)
    assert sup.stops == 1 and guard.stopped_for_memory
    await watch(sup, MemoryGuard(limit=None))  # no limit: nothing to watch, returns at once
    assert sup.stops == 1
