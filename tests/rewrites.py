"""Reads taken while writers keep rewriting the same keys: every read must see every key.

The store's bucket keeps one message per key, so a key rewritten during a read loses its old
message before the reader reaches it; readers that stop at the first "nothing pending" missed such
keys. Used by the store's list test and the health query's test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def reads_while_rewriting(
    read: Callable[[], Awaitable[set[str]]],
    expected: set[str],
    rewrite: Callable[[], Awaitable[bool]],
    *,
    reads: int,
    writers: int = 4,
) -> tuple[int, list[str]]:
    """Run ``writers`` loops of ``rewrite`` (True when it wrote) during ``reads`` calls of ``read``
    (the keys it saw); return how many writes were made and a line per read that missed keys."""
    stop = asyncio.Event()
    writes = 0

    async def writer() -> None:
        nonlocal writes
        while not stop.is_set():
            writes += await rewrite()

    tasks = [asyncio.create_task(writer()) for _ in range(writers)]
    bad: list[str] = []
    try:
        for n in range(reads):
            seen = await read()
            if seen != expected:
                bad.append(f"read {n}: {len(seen)} keys, missing {sorted(expected - seen)[:5]}")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return writes, bad
