"""Pipelined JetStream publishes: many compare-and-set writes in flight on one reply inbox.

``js.publish`` is a request per write (a new inbox future, a timeout task, nats-py's generic
response path), which costs tens of microseconds more per write than the wire needs.
``js.publish_async`` pipelines, but its reply handler raises instead of failing the future when
the server refuses a write (as it does for a lost compare-and-set), so a caller could wait forever.

:class:`AckPipeline` does what both should: one subscription on ``<inbox>.*`` per connection,
each write published with ``reply=<inbox>.<token>`` and a future per token; the ack JSON is parsed
here (``{"seq": N}`` -> N; ``err_code`` 10071 -> :class:`WrongLastSequence`; any other error ->
the matching :class:`~schemas.errors.JetkubeError`). A write whose ack does not come within the
timeout fails with :class:`~schemas.errors.Timeout` and its token is forgotten, so nothing hangs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import weakref
from typing import Any

import nats.errors
import structlog

from schemas.errors import InternalError, JetkubeError, ServiceUnavailable, Timeout

log = structlog.get_logger(__name__)

WRONG_LAST_SEQUENCE = 10071
MAX_OUTSTANDING = 100_000


class WrongLastSequence(Exception):
    """The expected-last-subject-sequence check failed (a lost compare-and-set)."""


class AckPipeline:
    """Publishes to JetStream with many acks outstanding on one wildcard reply subscription."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self._prefix = ""
        self._sub: Any = None
        self._futures: dict[str, asyncio.Future[int]] = {}
        self._tokens = itertools.count(1)
        self._lock = asyncio.Lock()

    async def _ensure(self) -> None:
        if self._sub is not None:
            return
        async with self._lock:
            if self._sub is None:
                prefix = self.nc.new_inbox()
                self._sub = await self.nc.subscribe(prefix + ".*", cb=self._on_ack)
                self._prefix = prefix + "."

    async def _on_ack(self, msg: Any) -> None:
        token = msg.subject[len(self._prefix) :]
        fut = self._futures.pop(token, None)
        if fut is None or fut.done():
            return
        headers = msg.headers
        if headers and headers.get("Status") == "503":
            fut.set_exception(ServiceUnavailable("JetStream is unavailable (no responders)"))
            return
        try:
            ack = json.loads(msg.data)
        except ValueError:
            fut.set_exception(InternalError(f"malformed JetStream ack: {msg.data[:80]!r}"))
            return
        error = ack.get("error")
        if error:
            if error.get("err_code") == WRONG_LAST_SEQUENCE:
                fut.set_exception(WrongLastSequence(error.get("description", "")))
            else:
                fut.set_exception(InternalError(f"state store error: {error.get('description', error)}"))
            return
        fut.set_result(int(ack["seq"]))

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> asyncio.Future[int]:
        """Send one write; the returned future resolves to its stream sequence (or fails)."""
        await self._ensure()
        if len(self._futures) > MAX_OUTSTANDING:
            self._purge()
        token = str(next(self._tokens))
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._futures[token] = fut
        try:
            await self.nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.StaleConnectionError,
            nats.errors.ConnectionReconnectingError,
            nats.errors.OutboundBufferLimitError,
            OSError,
        ) as err:
            self._futures.pop(token, None)
            fut.set_exception(ServiceUnavailable(f"the NATS connection failed: {err}"))
        except nats.errors.Error as err:
            self._futures.pop(token, None)
            fut.set_exception(InternalError(f"state store error: {err}"))
        return fut

    async def ack(self, fut: asyncio.Future[int], timeout: float) -> int:
        """The sequence of one write; :class:`Timeout` (and the future dropped) after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            fut.cancel()
            raise Timeout("the state store did not acknowledge a write in time") from None

    async def settle(
        self, futures: list[asyncio.Future[int]], timeout: float
    ) -> list[int | JetkubeError | WrongLastSequence]:
        """Wait for every future up to ``timeout``; a late one becomes Timeout, never a hang."""
        if futures:
            await asyncio.wait(futures, timeout=timeout)
        out: list[int | JetkubeError | WrongLastSequence] = []
        late = False
        for fut in futures:
            if not fut.done():
                fut.cancel()
                late = True
                out.append(Timeout("the state store did not acknowledge a write in time"))
                continue
            err = fut.exception()
            if err is None:
                out.append(fut.result())
            elif isinstance(err, JetkubeError | WrongLastSequence):
                out.append(err)
            else:
                out.append(InternalError(f"state store error: {err}"))
        if late:
            self._purge()
        return out

    def _purge(self) -> None:
        """Forget the tokens of futures given up on (cancelled), so the map cannot grow."""
        for token in [t for t, f in self._futures.items() if f.done()]:
            self._futures.pop(token, None)

    async def close(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except nats.errors.Error:
                pass
        for fut in self._futures.values():
            if not fut.done():
                fut.cancel()
        self._futures.clear()


# one reply subscription per NATS connection, shared by every user of it (Store, EventRecorder)
_PIPELINES: weakref.WeakKeyDictionary[Any, AckPipeline] = weakref.WeakKeyDictionary()


def pipeline_for(nc: Any) -> AckPipeline:
    """The connection's :class:`AckPipeline`, created on first use."""
    pipeline = _PIPELINES.get(nc)
    if pipeline is None:
        pipeline = _PIPELINES[nc] = AckPipeline(nc)
    return pipeline
