"""The data dir's ownership rules: the pid-file lock of a live ``jetkube up``, the check that a
leftover process is this data dir's own nats-server, and the cluster id."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cli.datadir import (
    DataDirInUse,
    UpLock,
    cluster_id,
    holder,
    is_own_server,
    leftover_server,
    looks_like_data_dir,
)


@pytest.mark.parametrize(
    ("cmdline", "own"),
    [
        (["/venv/bin/nats-server", "-c", "{d}/nats-server.conf"], True),
        (["nats-server", "-c", "{d}/./nats-server.conf"], True),
        (["/venv/bin/nats-server", "-c", "/elsewhere/nats-server.conf"], False),  # another data dir
        (["/bin/sleep", "{d}/nats-server.conf"], False),  # not a nats-server
        (["python", "-m", "cli.main", "up", "--data-dir", "{d}"], False),
        ([], False),
        (None, False),
    ],
)
def test_is_own_server(tmp_path: Path, cmdline: list[str] | None, own: bool) -> None:
    args = None if cmdline is None else [a.replace("{d}", str(tmp_path)) for a in cmdline]
    assert is_own_server(args, tmp_path / "nats-server.conf") is own


def test_a_held_data_dir_is_refused_naming_the_pid(tmp_path: Path) -> None:
    lock = UpLock.acquire(tmp_path)
    try:
        assert holder(tmp_path) == os.getpid()
        with pytest.raises(DataDirInUse) as info:
            UpLock.acquire(tmp_path)
        assert f"pid {os.getpid()}" in info.value.message and "\n" not in info.value.message
    finally:
        lock.release()
    assert holder(tmp_path) is None  # released: the next up may take it
    UpLock.acquire(tmp_path).release()


def test_a_pid_file_naming_another_program_is_not_touched(tmp_path: Path) -> None:
    (tmp_path / "nats-server.conf").write_text("")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "nats-server.pid").write_text(f"{sleeper.pid}\n")
        assert leftover_server(tmp_path) is None
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_cluster_id_is_made_once(tmp_path: Path) -> None:
    assert not looks_like_data_dir(tmp_path)
    first = cluster_id(tmp_path)
    assert len(first) == 16 and cluster_id(tmp_path) == first
    assert cluster_id(tmp_path / "other") != first
    assert looks_like_data_dir(tmp_path)
