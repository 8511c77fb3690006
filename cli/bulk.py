"""Sending the objects of a big ``-f`` to the api many at a time, in an order that works.

``apply``, ``create`` and ``delete -f`` used to send one object and await its answer before the
next, so a file of 5,000 pods went at one round trip per object. Here:

- :func:`waves` (pure) orders the work: Namespaces and CustomResourceDefinitions go in a first
  wave, before the objects that live in them (for ``delete``, in a last wave); an object named
  twice in the files goes in a later wave than its first mention, so the two never race.
- :func:`send_all` runs each wave with up to :data:`CONCURRENCY` requests in flight on the one
  connection (the api benchmark's 32 clients), and hands each result back **in the files' order**,
  so the output reads as kubectl's does (one line per object, errors where they happened).
- :class:`Progress` writes ``applied 1200/5000 objects (2,400/s)`` to stderr while it works: one
  line redrawn in place on a terminal, a plain line every few seconds otherwise; nothing for small
  files (fewer than :data:`PROGRESS_MIN` objects), so scripts see what kubectl prints.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TextIO

from schemas.errors import JetkubeError

CONCURRENCY = 32
PROGRESS_MIN = 100
FIRST_KINDS = frozenset({"Namespace", "CustomResourceDefinition"})

Key = tuple[str, str, str, str]  # (apiVersion group part, kind, namespace, name)


def object_key(obj: dict[str, Any], namespace: str | None) -> Key:
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    name = str((obj.get("metadata") or {}).get("name") or "")
    return (group, str(obj.get("kind") or ""), namespace or "", name)


def waves(keys: Sequence[Key], reverse: bool = False) -> list[list[int]]:
    """Indexes of ``keys`` in the waves they are sent in; each wave in the files' order.

    Definitions (:data:`FIRST_KINDS`) come first (last with ``reverse``, for deletes); the n-th
    mention of one object goes in the n-th wave of its class. Unnamed objects (``generateName``)
    never collide.
    """
    seen: dict[Key, int] = {}
    slots: dict[tuple[bool, int], list[int]] = {}
    for i, key in enumerate(keys):
        first = key[1] in FIRST_KINDS
        repeat = 0
        if key[3]:
            repeat = seen.get(key, 0)
            seen[key] = repeat + 1
        slots.setdefault((first, repeat), []).append(i)
    order = sorted(slots, key=lambda s: (not s[0], s[1]))
    if reverse:
        order = sorted(slots, key=lambda s: (s[0], s[1]))
    return [slots[s] for s in order]


def progress_line(verb: str, done: int, total: int, elapsed: float) -> str:
    rate = done / elapsed if elapsed > 0 else 0.0
    return f"{verb} {done}/{total} objects ({rate:,.0f}/s)"


class Progress:
    """The progress line on stderr (see the module's docstring)."""

    def __init__(self, verb: str, total: int, out: TextIO | None = None, every: float = 2.0) -> None:
        self.verb, self.total = verb, total
        self.out = out or sys.stderr
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.every = 0.1 if self.tty else every
        self.enabled = total >= PROGRESS_MIN
        self.start = time.monotonic()
        self.last = self.start
        self.done = 0

    def tick(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.enabled and now - self.last >= self.every and self.done < self.total:
            self.last = now
            self._write(now)

    def finish(self) -> None:
        if self.enabled:
            self._write(time.monotonic())
            if self.tty:
                self.out.write("\n")
            self.out.flush()

    def _write(self, now: float) -> None:
        line = progress_line(self.verb, self.done, self.total, now - self.start)
        self.out.write(f"\r\x1b[K{line}" if self.tty else line + "\n")
        self.out.flush()


Outcome = tuple[Any, JetkubeError | None]


async def send_all(
    count: int,
    plan: list[list[int]],
    send: Callable[[int], Awaitable[Any]],
    report: Callable[[int, Any, JetkubeError | None], None],
    progress: Progress | None = None,
    concurrency: int = CONCURRENCY,
) -> None:
    """Run ``send(i)`` for every index of every wave, ``concurrency`` at a time within a wave;
    call ``report(i, result, error)`` in index order as soon as all before ``i`` are reported."""
    outcomes: dict[int, Outcome] = {}
    cursor = 0

    def flush() -> None:
        nonlocal cursor
        while cursor < count and cursor in outcomes:
            result, error = outcomes.pop(cursor)
            report(cursor, result, error)
            cursor += 1

    async def worker(pending: Iterator[int]) -> None:
        for i in pending:  # the workers share one iterator: each index is taken once
            try:
                outcomes[i] = (await send(i), None)
            except JetkubeError as err:
                outcomes[i] = (None, err)
            if progress is not None:
                progress.tick()
            flush()

    for wave in plan:
        pending = iter(wave)
        await asyncio.gather(*(worker(pending) for _ in range(min(concurrency, len(wave)))))
    flush()
    if progress is not None:
        progress.finish()
