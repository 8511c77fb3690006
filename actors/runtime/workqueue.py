"""The controller workqueue, with client-go's semantics, and the workers that drain it.

Keys (``"ns/name"`` strings) go in; workers take them out with :meth:`WorkQueue.get` and hand them
back with :meth:`WorkQueue.done`. The guarantees a controller relies on:

- **Dedupe.** A key added while it waits in the queue is queued once: ten events about one object
  before a worker gets to it give one reconcile.
- **One at a time.** A key being processed is never handed to a second worker. Added again while it
  is processed, it is marked *dirty* and queued again when the first worker calls ``done``, so the
  change is not lost and the two reconciles never overlap.
- **Per-key backoff.** :meth:`WorkQueue.add_rate_limited` re-adds a failed key after
  ``base * 2**failures`` (5 ms doubling to 1000 s by default); :meth:`WorkQueue.forget` clears the
  count once the key succeeds.
- **Delays.** :meth:`WorkQueue.add_after` queues a key later ("check again in 30 s"). Delayed keys
  are moved into the queue by whoever calls ``get`` or ``len``, so the queue runs no task of its own.

:func:`run_workers` is the loop every controller uses: success forgets the key, a
:class:`~schemas.errors.Conflict` (a compare-and-set lost against a newer write) requeues it at once
and quietly, any other exception is logged and requeued with backoff.

Unlike client-go there is no overall (all keys) token bucket; the per-key backoff is the only limit.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Awaitable, Callable

import structlog

from actors.metrics.instruments import track_queue
from actors.runtime.backoff import delay_for
from schemas.errors import Conflict, JetkubeError

log = structlog.get_logger(__name__)


class WorkQueue:
    """A deduplicating queue of keys with delayed adds and per-key exponential backoff."""

    def __init__(
        self, name: str = "workqueue", *, base_delay: float = 0.005, max_delay: float = 1000.0
    ) -> None:
        self.name = name
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        # delayed keys: a heap of (ready_at, seq, key); _waiting holds each key's earliest ready_at
        self._delayed: list[tuple[float, int, str]] = []
        self._waiting: dict[str, float] = {}
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._shutting_down = False
        self._m_adds, self._m_retries = track_queue(self)  # Prometheus (actors/metrics)

    # -- adding -------------------------------------------------------------------------------

    def add(self, key: str) -> None:
        """Queue ``key`` unless it is already queued; if it is being processed, queue it after."""
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        self._m_adds.inc()
        if key in self._processing:
            return
        self._queue.append(key)
        self._wakeup.set()

    def add_after(self, key: str, delay: float) -> None:
        """Queue ``key`` once ``delay`` seconds have passed (an earlier pending delay wins)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        ready_at = self._now() + delay
        if self._waiting.get(key, float("inf")) <= ready_at:
            return
        self._waiting[key] = ready_at
        heapq.heappush(self._delayed, (ready_at, next(self._seq), key))
        self._wakeup.set()  # a getter may need to wake earlier than it planned

    def add_rate_limited(self, key: str) -> None:
        """Queue ``key`` after its backoff delay, and count one more failure for it."""
        self.add_after(key, self.when(key))

    def when(self, key: str) -> float:
        """Count a failure of ``key`` and return its backoff delay."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        self._m_retries.inc()
        return delay_for(failures, self.base_delay, self.max_delay)

    def forget(self, key: str) -> None:
        """Stop tracking ``key``'s failures: its next rate-limited add waits ``base_delay`` again."""
        self._failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)

    # -- taking -------------------------------------------------------------------------------

    async def get(self) -> str | None:
        """Wait for a key and mark it processing; ``None`` once the queue is shut down."""
        while True:
            if self._shutting_down:
                return None
            self._promote_ready()
            if self._queue:
                key = self._queue.popleft()
                self._processing.add(key)
                self._dirty.discard(key)
                return key
            self._wakeup.clear()
            timeout = self._delayed[0][0] - self._now() if self._delayed else None
            try:
                async with asyncio.timeout(timeout):  # not wait_for: in 3.11 it can swallow a cancel
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    def done(self, key: str) -> None:
        """Processing of ``key`` ended; if it was added meanwhile, queue it again now."""
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._wakeup.set()

    def shutdown(self) -> None:
        """Refuse new keys and make every ``get`` (waiting or future) return ``None``."""
        self._shutting_down = True
        self._wakeup.set()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Keys ready to be taken (delayed keys count once their delay has passed)."""
        self._promote_ready()
        return len(self._queue)

    @property
    def depth(self) -> int:
        """Keys ready to be taken, without promoting delayed ones (safe from any thread)."""
        return len(self._queue)

    @property
    def processing(self) -> frozenset[str]:
        return frozenset(self._processing)

    @property
    def num_waiting(self) -> int:
        """Keys waiting for their delay to pass."""
        return len(self._waiting)

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _promote_ready(self) -> None:
        if not self._delayed:
            return
        now = self._now()
        while self._delayed and self._delayed[0][0] <= now:
            ready_at, _, key = heapq.heappop(self._delayed)
            if self._waiting.get(key) != ready_at:
                continue  # superseded by an earlier add_after of the same key
            del self._waiting[key]
            self.add(key)


Reconcile = Callable[[str], Awaitable[None]]


async def run_workers(queue: WorkQueue, reconcile: Reconcile, n: int = 1, *, name: str | None = None) -> None:
    """Run ``n`` workers that drain ``queue`` through ``reconcile`` until the queue shuts down.

    Cancelling this coroutine cancels the workers; a key whose reconcile was cut short is queued
    again, so the queue can be drained later by new workers (a new leadership term).
    """
    label = name or queue.name
    async with asyncio.TaskGroup() as group:
        for i in range(n):
            group.create_task(_worker(queue, reconcile, label), name=f"{label}:worker-{i}")


async def _worker(queue: WorkQueue, reconcile: Reconcile, label: str) -> None:
    while (key := await queue.get()) is not None:
        try:
            await reconcile(key)
        except asyncio.CancelledError:
            queue.add(key)  # queued again once done() below releases it
            raise
        except Conflict as exc:
            log.debug("reconcile.conflict", controller=label, key=key, message=exc.message)
            queue.add_rate_limited(key)
        except JetkubeError as exc:
            delay = queue.when(key)
            log.warning(
                "reconcile.failed",
                controller=label,
                key=key,
                reason=exc.reason,
                message=exc.message,
                retry_in=delay,
            )
            queue.add_after(key, delay)
        except Exception as exc:
            delay = queue.when(key)
            log.error("reconcile.crashed", controller=label, key=key, retry_in=delay, exc_info=exc)
            queue.add_after(key, delay)
        else:
            queue.forget(key)
        finally:
            queue.done(key)
