"""The api's compactor agent: every ``interval`` seconds, purge delete markers older than the retention.

Runs in every api replica (purges are idempotent; the compacted revision is recorded with
compare-and-set, bus/compaction.py). The retention comes from ``JETKUBE_TOMBSTONE_RETENTION``
(seconds, default 300); the pass runs every retention / 2, at most every 60 s and at least every
second. A failed pass is logged and tried again at the next tick.
"""

from __future__ import annotations

import asyncio

import structlog

from bus.compaction import retention_from_env
from bus.store import Store
from schemas.errors import JetkubeError

log = structlog.get_logger(__name__)


class Compactor:
    def __init__(self, store: Store, retention: float | None = None, interval: float | None = None) -> None:
        self.store = store
        self.retention = retention_from_env() if retention is None else retention
        self.interval = interval if interval is not None else min(60.0, max(1.0, self.retention / 2))
        self.passes = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.store.compact(self.retention)
                self.passes += 1
            except JetkubeError as err:
                log.warning("api.compaction_failed", error=str(err))
