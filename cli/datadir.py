"""What a ``jetkube up`` leaves in its data dir so that the next run, and ``jetkube down``, find it.

- ``up.pid``: the pid of the ``jetkube up`` that owns the data dir, held under an exclusive
  ``flock`` for the whole run. The kernel drops the lock when the process dies however it dies, so
  a lock that cannot be taken means a live owner (its pid is in the file) and one that can means
  whatever the file says is history.
- ``nats-server.pid``: the embedded server's pid (bus/embedded.py writes it). The server dies with
  its parent (a parent-death signal), but one from an older jetkube, or one still flushing after
  its parent's ``kill -9``, may hold the port and the store: :func:`stop_leftover_server` stops
  it, after checking by ``/proc/<pid>/cmdline`` that it is a nats-server run on this data dir's
  config (never a process that merely reused the pid).
- ``cluster-id``: a random id made once per data dir; the kubelet of ``jetkube up`` labels every
  container with it (``io.jetkube.cluster``) so ``jetkube down`` removes this cluster's containers
  and no other's on a shared engine.

The decisions (:func:`is_own_server`) are pure and tested as tables; the rest is small file and
process I/O.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from bus.embedded import CONF_FILE, PID_FILE
from schemas.errors import Conflict

log = structlog.get_logger(__name__)

UP_PID_FILE = "up.pid"
CLUSTER_ID_FILE = "cluster-id"


class DataDirInUse(Conflict):
    """The data dir belongs to a live ``jetkube up``."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "a process whose pid is not written yet"
        super().__init__(
            f"data dir {data_dir} is in use by a running jetkube up ({who}): "
            f"stop it (Ctrl-C there, or jetkube down --data-dir {data_dir}) or pass another --data-dir"
        )
        self.pid = pid


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def read_cmdline(pid: int) -> list[str] | None:
    """The process's argv from /proc, or None when it is gone (or a zombie with none)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    return args or None


def is_own_server(cmdline: list[str] | None, conf: Path) -> bool:
    """Is this argv the embedded nats-server of the data dir whose config is ``conf``?"""
    if not cmdline or Path(cmdline[0]).name != "nats-server":
        return False
    wanted = str(conf.resolve())
    return any(str(Path(arg).resolve()) == wanted for arg in cmdline[1:] if arg.endswith(CONF_FILE))


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def terminate(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL and wait."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_gone(pid, timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_gone(pid, 5.0)


def leftover_server(data_dir: Path) -> int | None:
    """The pid of this data dir's nats-server if one still runs, else None."""
    pid = read_pid(data_dir / PID_FILE)
    if pid is None or not alive(pid):
        return None
    return pid if is_own_server(read_cmdline(pid), data_dir / CONF_FILE) else None


def stop_leftover_server(data_dir: Path, timeout: float = 10.0) -> int | None:
    """Stop a nats-server an earlier run of this data dir left running; its pid, or None."""
    pid = leftover_server(data_dir)
    if pid is None:
        (data_dir / PID_FILE).unlink(missing_ok=True)
        return None
    log.warning("datadir.leftover_server", pid=pid, data_dir=str(data_dir))
    terminate(pid, timeout)
    (data_dir / PID_FILE).unlink(missing_ok=True)
    return pid


@dataclass
class UpLock:
    """The data dir's ``up.pid`` held under ``flock`` by the running ``jetkube up``."""

    path: Path
    fd: int

    @classmethod
    def acquire(cls, data_dir: Path) -> UpLock:
        """Take the data dir for this process, or raise :class:`DataDirInUse` naming the owner."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / UP_PID_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children (O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirInUse(data_dir, holder(data_dir)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        os.close(self.fd)  # closing drops the flock
        self.fd = -1


def holder(data_dir: Path) -> int | None:
    """The pid of the live ``jetkube up`` holding ``data_dir``, else None."""
    path = data_dir / UP_PID_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: the file names the owner (written just after locking)
            deadline = time.monotonic() + 1.0
            while (pid := read_pid(path)) is None and time.monotonic() < deadline:
                time.sleep(0.02)
            return pid
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def cluster_id(data_dir: Path) -> str:
    """This data dir's cluster id, made on first use (written atomically, never changed)."""
    path = data_dir / CLUSTER_ID_FILE
    with contextlib.suppress(OSError):
        existing = path.read_text().strip()
        if existing:
            return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{CLUSTER_ID_FILE}.{os.getpid()}")
    tmp.write_text(secrets.token_hex(8) + "\n")
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def existing_cluster_id(data_dir: Path) -> str | None:
    with contextlib.suppress(OSError):
        return path_text if (path_text := (data_dir / CLUSTER_ID_FILE).read_text().strip()) else None
    return None


def looks_like_data_dir(data_dir: Path) -> bool:
    """Does ``data_dir`` hold a jetkube up's state (safe to delete with ``down --purge``)?"""
    return data_dir.is_dir() and any(
        (data_dir / name).exists() for name in (CLUSTER_ID_FILE, UP_PID_FILE, CONF_FILE, "jetstream")
    )


_held: list[UpLock] = []  # the data dirs this process holds, until it exits


def hold_data_dir(data_dir: Path) -> UpLock:
    """What ``jetkube up`` does first: take the data dir (or raise :class:`DataDirInUse`), then stop
    a nats-server an earlier run left, saying so in one line. The lock is held until the process
    exits, however it exits: the kernel drops it."""
    import typer

    lock = UpLock.acquire(data_dir)
    _held.append(lock)
    stale = stop_leftover_server(data_dir)
    if stale is not None:
        typer.echo(f"stopped nats-server (pid {stale}) left running by an earlier jetkube up in {data_dir}")
    return lock
