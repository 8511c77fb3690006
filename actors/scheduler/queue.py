"""The scheduling queue: pods waiting for a decision, and pods no node could take.

* **active**: keys in arrival order, deduplicated; the scheduler takes them in batches.
* **unschedulable**: keys that failed, with the message they failed with. They are not retried on
  their own: a cluster change that may help (a node added or changed, a pod deleted or finished)
  calls :meth:`SchedulingQueue.request_move`, and at most once per ``move_interval`` the whole set
  moves back to active, as kube-scheduler's ``MoveAllToActiveOrBackoffQueue`` does. Besides, every
  ``flush_interval`` the set is moved back regardless (kube-scheduler's periodic flush), so a
  missed event delays a pod, never strands it.

The queue does no I/O; :meth:`wait` is the scheduler loop's only suspension point.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

from bus.cancelsafe import wait_for

DEFAULT_MOVE_INTERVAL = 1.0
DEFAULT_FLUSH_INTERVAL = 30.0


class SchedulingQueue:
    def __init__(
        self,
        *,
        move_interval: float = DEFAULT_MOVE_INTERVAL,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.move_interval = move_interval
        self.flush_interval = flush_interval
        self.clock = clock
        self._active: deque[str] = deque()
        self._queued: set[str] = set()
        self._entered: dict[str, float] = {}  # key -> when it first entered, kept across attempts
        self.unschedulable: dict[str, str] = {}
        self._move_requested = False
        self._last_move = clock()
        self._last_flush = clock()
        self._wakeup = asyncio.Event()

    def __len__(self) -> int:
        return len(self._queued)

    def __contains__(self, key: str) -> bool:
        return key in self._queued

    def add(self, key: str) -> None:
        self.unschedulable.pop(key, None)
        self._entered.setdefault(key, self.clock())
        if key not in self._queued:
            self._queued.add(key)
            self._active.append(key)
            self._wakeup.set()

    def remove(self, key: str) -> None:
        """Forget a key (deleted, bound elsewhere); a stale entry in ``_active`` is skipped."""
        self._queued.discard(key)
        self.unschedulable.pop(key, None)
        self._entered.pop(key, None)

    def entered(self, key: str) -> float | None:
        """When ``key`` first entered the queue (its first attempt), until it is removed."""
        return self._entered.get(key)

    def pop_batch(self, limit: int) -> list[str]:
        out: list[str] = []
        while self._active and len(out) < limit:
            key = self._active.popleft()
            if key in self._queued:
                self._queued.discard(key)
                out.append(key)
        return out

    def mark_unschedulable(self, key: str, message: str) -> None:
        if key not in self._queued:
            self.unschedulable[key] = message

    def request_move(self) -> None:
        """Something changed that may let unschedulable pods fit."""
        if self.unschedulable:
            self._move_requested = True
            self._wakeup.set()

    def move_due(self) -> bool:
        """Move unschedulable pods back to active if a move is requested and allowed, or a flush is due."""
        now = self.clock()
        flush = now - self._last_flush >= self.flush_interval
        if not self.unschedulable:
            self._move_requested = False
            if flush:
                self._last_flush = now
            return False
        if flush or (self._move_requested and now - self._last_move >= self.move_interval):
            keys = list(self.unschedulable)
            self.unschedulable.clear()
            for key in keys:
                self.add(key)
            self._move_requested = False
            self._last_move = now
            if flush:
                self._last_flush = now
            return True
        return False

    def next_timeout(self) -> float:
        """How long the loop may sleep before a move or flush could be due."""
        now = self.clock()
        wait = self._last_flush + self.flush_interval - now
        if self._move_requested:
            wait = min(wait, self._last_move + self.move_interval - now)
        return max(wait, 0.0)

    async def wait(self) -> None:
        """Until something is active (moving unschedulable pods back when a move or flush is due)."""
        while True:
            self.move_due()
            if self._queued:
                return
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await wait_for(self._wakeup.wait(), max(self.next_timeout(), 0.001))
