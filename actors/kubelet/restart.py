"""When a dead container starts again: the restart policy and the crash-loop back-off. No I/O.

Kubernetes' kubelet keys a back-off by (pod, container) and works from the time the container
finished (``flowcontrol.Backoff``):

- the first death restarts at once and arms a 10 s back-off;
- a later death waits until ``finishedAt + backoff`` (the container is ``waiting`` with reason
  CrashLoopBackOff and ``back-off 20s restarting failed container=X pod=Y_ns(uid)``), then
  restarts and doubles the back-off, up to 5 min;
- an entry untouched for twice the cap (10 min, i.e. the container ran that long) is forgotten,
  so the next death is a first death again.

Image pulls back off the same way (ImagePullBackOff), keyed by image.
"""

from __future__ import annotations

from dataclasses import dataclass

INITIAL = 10.0
CAP = 300.0


def should_restart(policy: str, exit_code: int | None) -> bool:
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return exit_code != 0
    return True


@dataclass
class Entry:
    backoff: float
    last_update: float


class BackoffTable:
    def __init__(self, initial: float = INITIAL, cap: float = CAP) -> None:
        self.initial = initial
        self.cap = cap
        self.entries: dict[str, Entry] = {}

    def _expired(self, entry: Entry, when: float) -> bool:
        return when - entry.last_update > 2 * self.cap

    def remaining(self, key: str, event_time: float, now: float) -> float:
        """Seconds left before a restart is allowed (0: go now). ``event_time`` is the death."""
        return remaining_of(self.entries.get(key), event_time, now, self.cap)

    def current(self, key: str) -> float:
        entry = self.entries.get(key)
        return entry.backoff if entry else self.initial

    def next(self, key: str, event_time: float) -> float:
        """Record a restart after the death at ``event_time``; the back-off the next death gets."""
        entry = self.entries.get(key)
        if entry is None or self._expired(entry, event_time):
            entry = Entry(self.initial, event_time)
        else:
            entry = Entry(min(entry.backoff * 2, self.cap), event_time)
        self.entries[key] = entry
        return entry.backoff

    def forget_prefix(self, prefix: str) -> None:
        for k in [k for k in self.entries if k.startswith(prefix)]:
            del self.entries[k]


def remaining_of(entry: Entry | None, event_time: float, now: float, cap: float = CAP) -> float:
    """:meth:`BackoffTable.remaining` of one entry (None: no back-off armed)."""
    if entry is None or now - entry.last_update > 2 * cap:
        return 0.0
    left = entry.backoff - (now - event_time)
    return left if left > 0 else 0.0


def crash_loop_message(delay: float, container: str, pod_name: str, namespace: str, uid: str) -> str:
    return (
        f"back-off {format_duration(delay)} restarting failed container={container} "
        f"pod={pod_name}_{namespace}({uid})"
    )


def format_duration(seconds: float) -> str:
    """Go's time.Duration text for whole seconds: 10s, 1m20s, 5m0s."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    return f"{s // 60}m{s % 60}s"
