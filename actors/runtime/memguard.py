"""A memory ceiling for a jetkube process (``--memory-limit``), and the api's refusal before it.

A request that makes the process grow (a huge list, a patch that explodes) used to run until the
kernel's OOM killer took the whole process with everything it serves. With a limit:

- :func:`apply_limit` writes it to the process's own memory cgroup when the process is alone in
  that cgroup (a container or a systemd scope of its own) and may write there: the kernel then
  enforces it. On a shared cgroup (a login shell, a shared container) lowering the limit would hit
  every other process in it, so the limit is only watched: the resident set size from /proc.
- :data:`GUARD` is the process's guard; the api asks :meth:`MemoryGuard.check` before each request.
  Past :data:`REFUSE_AT` of the limit it refuses new work with 503 ServiceUnavailable and a reason
  (clients retry; kubectl shows the message); deletes and reads of one object, which free memory
  or cost little, are still served until the limit itself. Before refusing, the guard runs the
  garbage collector and returns freed heap to the kernel (``malloc_trim``) at most once a second,
  so a process whose spike is over serves again.
- :func:`watch` (the agent ``memguard.watch``, spawned by each process command on its supervisor)
  samples every second: it logs once when the refusal line is crossed, and when a watched limit is
  crossed anyway (one request that grew past it, or a process with no api, such as the kubelet) it
  stops the process in order (its children and connections closed, exit 1) before the kernel's OOM
  killer would take it, or a neighbour, without notice.

:func:`decide` and :func:`watch_action` are the pure decisions, tested as tables;
:class:`MemoryGuard` adds the sampling.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import structlog

from schemas.errors import ServiceUnavailable

if TYPE_CHECKING:
    from actors.runtime.supervisor import Supervisor

log = structlog.get_logger(__name__)

REFUSE_AT = 0.85  # share of the limit from which new work is refused
CHEAP_VERBS = frozenset({"delete", "get", "version", "apiversions"})  # served until the limit itself
SAMPLE_EVERY = 0.1  # seconds a resident-size sample is reused
TRIM_EVERY = 1.0  # seconds between collect-and-trim attempts while refusing
MIB = 1024 * 1024


@dataclass(frozen=True)
class Verdict:
    admit: bool
    reason: str = ""


def decide(verb: str, rss: int, limit: int | None, refuse_at: float = REFUSE_AT) -> Verdict:
    """May a request of ``verb`` start when the process holds ``rss`` bytes under ``limit``?"""
    if not limit:
        return Verdict(True)
    line = limit if verb in CHEAP_VERBS else int(limit * refuse_at)
    if rss < line:
        return Verdict(True)
    return Verdict(
        False,
        f"memory: this jetkube process holds {rss // MIB} MiB of its {limit // MIB} MiB --memory-limit; "
        f"it refuses {verb} requests until it is below {line // MIB} MiB (retry later)",
    )


def rss_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _malloc_trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


class MemoryGuard:
    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.enforced_by = ""  # "cgroup <path>" or "watched" once a limit is set
        self.stopped_for_memory = False  # the watcher stopped the process (its exit status is 1)
        self._rss = 0
        self._sampled = 0.0
        self._trimmed = 0.0

    def rss(self) -> int:
        now = time.monotonic()
        if now - self._sampled > SAMPLE_EVERY:
            self._rss, self._sampled = rss_bytes(), now
        return self._rss

    def check(self, verb: str) -> None:
        """Raise ServiceUnavailable (503) when ``verb`` would take the process past its limit."""
        if not self.limit:
            return
        verdict = decide(verb, self.rss(), self.limit)
        if verdict.admit:
            return
        now = time.monotonic()
        if now - self._trimmed > TRIM_EVERY:  # maybe the spike is over and only the heap is left
            self._trimmed = now
            gc.collect()
            _malloc_trim()
            self._sampled = 0.0
            verdict = decide(verb, self.rss(), self.limit)
            if verdict.admit:
                return
        log.warning("memguard.refused", verb=verb, rss=self._rss, limit=self.limit)
        raise ServiceUnavailable(verdict.reason)


GUARD = MemoryGuard()
WATCH_EVERY = 1.0  # seconds between the watcher's samples


def watch_action(rss: int, limit: int | None, enforced_by: str, refuse_at: float = REFUSE_AT) -> str:
    """What the watcher does with a sample: ``ok``, ``high`` (past the refusal line: log, trim) or
    ``stop`` (past a limit no cgroup enforces: stop in order before the OOM killer acts)."""
    if not limit or rss < limit * refuse_at:
        return "ok"
    if rss >= limit and not enforced_by.startswith("cgroup"):
        return "stop"
    return "high"


class Stoppable(Protocol):
    def request_stop(self) -> None: ...


async def watch(sup: Stoppable, guard: MemoryGuard = GUARD, every: float = WATCH_EVERY) -> None:
    """The agent that watches the process's size against ``guard``'s limit (none: returns)."""
    if not guard.limit:
        return
    state: Literal["ok", "high"] = "ok"
    while True:
        guard._sampled = 0.0
        rss = guard.rss()
        action = watch_action(rss, guard.limit, guard.enforced_by)
        if action == "stop":
            log.error("memguard.limit_crossed", rss=rss, limit=guard.limit, action="stopping in order")
            guard.stopped_for_memory = True
            sup.request_stop()
            return
        if action == "high" and state == "ok":
            log.warning(
                "memguard.high", rss=rss, limit=guard.limit, refusing_from=int(guard.limit * REFUSE_AT)
            )
            gc.collect()
            _malloc_trim()
        elif action == "ok" and state == "high":
            log.info("memguard.back_below", rss=rss, limit=guard.limit)
        state = "ok" if action == "ok" else "high"
        await asyncio.sleep(every)


def start_watch(sup: Supervisor) -> None:
    """Spawn :func:`watch` on a supervisor when this process has a ``--memory-limit``."""
    if GUARD.limit:
        sup.spawn("memguard.watch", lambda: watch(sup), restart=False)


# ---------------------------------------------------------------- the cgroup


def cgroup_may_be_limited(procs: list[int], own_pid: int) -> bool:
    """Only a cgroup this process has to itself may get its limit: any other member would be
    limited (and OOM-killed) with it."""
    return procs == [own_pid]


def memory_cgroup_dir(proc_cgroup: str, root: Path = Path("/sys/fs/cgroup")) -> Path | None:
    """The directory of this process's memory cgroup (v2 unified, or v1's memory controller)."""
    for line in proc_cgroup.splitlines():
        hier, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        rel = path.lstrip("/")
        if hier == "0" and controllers == "":
            candidates = [root / rel, root]
            limit_file = "memory.max"
        elif "memory" in controllers.split(","):
            candidates = [root / "memory" / rel, root / "memory"]
            limit_file = "memory.limit_in_bytes"
        else:
            continue
        for d in candidates:
            if (d / limit_file).exists() and (d / "cgroup.procs").exists():
                return d
    return None


def apply_limit(limit: int, guard: MemoryGuard = GUARD) -> str:
    """Set ``guard``'s limit and, where the process is alone in its memory cgroup and may write
    it, the cgroup's too. Returns how it is enforced (for the log): ``cgroup <dir>`` or
    ``watched``."""
    guard.limit = limit
    guard.enforced_by = "watched"
    try:
        d = memory_cgroup_dir(Path("/proc/self/cgroup").read_text())
        if d is not None:
            procs = [int(p) for p in (d / "cgroup.procs").read_text().split()]
            if cgroup_may_be_limited(procs, os.getpid()):
                name = "memory.max" if (d / "memory.max").exists() else "memory.limit_in_bytes"
                (d / name).write_text(str(limit))
                guard.enforced_by = f"cgroup {d}"
    except (OSError, ValueError) as exc:
        log.info("memguard.no_cgroup", error=str(exc))
    log.info("memguard.limit", limit=limit, enforced_by=guard.enforced_by)
    return guard.enforced_by
