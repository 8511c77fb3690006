"""Bulk work with the cyclic garbage collector running rarely.

Reading a snapshot of 100,000 pods, or loading one into an informer's cache, allocates millions of
containers; the young-generation collections that triggers (each traversing everything that
survived so far) cost about 40% of a list's time. Reference counting still frees everything
acyclic. The collector's thresholds are raised, not switched off, so a pause that is never ended
(a snapshot abandoned without being closed) cannot leave the process without a collector. Pauses
nest: the thresholds come back when the last one ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BULK_GC_THRESHOLD = 200_000

_pauses = 0
_saved: tuple[int, ...] = ()


def pause_gc() -> bool:
    """Raise the youngest threshold; False (and nothing done) when the collector is off."""
    global _pauses, _saved
    if _pauses == 0:
        _saved = gc.get_threshold()
        if _saved[0] == 0:
            return False  # the collector is off: leave it alone
        gc.set_threshold(max(_saved[0], BULK_GC_THRESHOLD), *_saved[1:])
    _pauses += 1
    return True


def resume_gc(paused: bool) -> bool:
    """End a pause that :func:`pause_gc` returned True for; returns False (not paused now)."""
    global _pauses
    if paused:
        _pauses -= 1
        if _pauses == 0:
            gc.set_threshold(*_saved)
    return False


@contextmanager
def gc_paused() -> Iterator[None]:
    """A synchronous block of bulk work (no awaits inside: the pause is process-wide)."""
    paused = pause_gc()
    try:
        yield
    finally:
        resume_gc(paused)
