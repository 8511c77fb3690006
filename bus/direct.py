"""Fewer event-loop turns on the hot request paths: direct subscriptions and write-through.

nats-py hands each message of a callback subscription to a task of its own, and writes what is
published from a flusher task. Each is one more turn of the event loop, and on a busy loop every
turn lets whatever else is ready (informers, the scheduler) run first. A create passed through
eight such turns in the api's process (the request in, its KV write out, the ack in, the reply
out) and four in the client's. Two tools remove half of them:

- :func:`subscribe_direct` calls a synchronous handler from nats-py's read loop itself, as nats-py
  does for the futures of its old-style requests. The handler must not block: it resolves a future
  or queues the message for a worker.
- :func:`write_now` hands what is pending to the socket at once instead of at the flusher's next
  turn. Callers use it only when little is in flight (a client waiting on one request); under load
  the flusher's batching (one write for many messages) is worth more than the turn it costs.

Both reach into nats-py's internals (``Subscription._pending_queue``, ``Client._pending``); both
fall back to nats-py's own path when those are missing, and ``tests/integration/store/
test_direct.py`` fails if a nats-py release moves them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from nats.aio.msg import Msg

log = structlog.get_logger(__name__)

DirectHandler = Callable[[Msg], None]


class _DirectQueue(asyncio.Queue):
    """Stands in for a subscription's pending queue: each message goes to the handler at once."""

    def __init__(self, sub: Any, handler: DirectHandler) -> None:
        super().__init__()
        self._sub = sub
        self._handler = handler

    def put_nowait(self, item: Msg) -> None:
        self._sub._pending_size -= len(item.data)  # nothing waits here: keep nats-py's count at 0
        try:
            self._handler(item)
        except Exception:
            log.exception("direct.handler_failed", subject=item.subject)


async def subscribe_direct(nc: Any, subject: str, handler: DirectHandler, *, queue: str = "") -> Any:
    """Subscribe with ``handler`` called from the read loop; the subscription is returned."""
    sub = await nc.subscribe(subject, queue=queue)
    if isinstance(getattr(sub, "_pending_queue", None), asyncio.Queue) and hasattr(sub, "_pending_size"):
        sub._pending_queue = _DirectQueue(sub, handler)
        return sub
    await sub.unsubscribe()  # a nats-py without these internals: its own callback task then

    async def through_task(msg: Msg) -> None:
        handler(msg)

    return await nc.subscribe(subject, queue=queue, cb=through_task)


def write_now(nc: Any) -> None:
    """Give nats-py's pending output to the socket now (the flusher then finds nothing to do)."""
    pending = getattr(nc, "_pending", None)
    transport = getattr(nc, "_transport", None)
    if not pending or transport is None or not nc.is_connected:
        return
    transport.writelines(pending)
    nc._pending = []
    nc._pending_data_size = 0
