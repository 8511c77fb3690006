"""Exponential backoff: the one retry-delay rule of the actor runtime.

``delay = base * factor ** attempts``, capped at ``cap``. The supervisor (crashed tasks), the
informer (failed list/watch) and the workqueue's per-key rate limiter all use it, so every retry
loop in jetkube has a delay that grows and a ceiling it never passes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """Delays for consecutive failures of one thing; :meth:`reset` after a success."""

    base: float
    cap: float
    factor: float = 2.0
    attempts: int = 0

    def peek(self) -> float:
        """The delay the next failure will get, without counting it."""
        return delay_for(self.attempts, self.base, self.cap, self.factor)

    def next(self) -> float:
        """Count one more failure and return the delay to wait before retrying."""
        delay = self.peek()
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0


def delay_for(attempts: int, base: float, cap: float, factor: float = 2.0) -> float:
    """``base * factor ** attempts`` capped at ``cap`` (computed without overflowing)."""
    if base <= 0:
        return 0.0
    delay = base
    for _ in range(attempts):
        delay *= factor
        if delay >= cap:
            return cap
    return min(delay, cap)
