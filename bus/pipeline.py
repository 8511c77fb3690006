"""Requests multiplexed on one reply inbox per connection: JetStream acks and api requests.

``js.publish`` is a request per write (a new inbox future, a timeout task, nats-py's generic
response path), which costs tens of microseconds more per write than the wire needs.
``js.publish_async`` pipelines, but its reply handler raises instead of failing the future when
the server refuses a write (as it does for a lost compare-and-set), so a caller could wait forever.
``nc.request`` hands each reply to a subscription task first, one more turn of the event loop.

:class:`InboxMux` does what all three should: one subscription on ``<inbox>.*`` per connection,
called from the read loop (:func:`bus.direct.subscribe_direct`), each message published with
``reply=<inbox>.<token>`` and a future per token, resolved with the reply itself. When at most
``LOW_CONCURRENCY`` are outstanding the message is written at once (:func:`bus.direct.write_now`),
since nobody else will fill the flusher's next write.

:class:`AckPipeline` parses JetStream's ack JSON (``{"seq": N}`` -> N; ``err_code`` 10071 ->
:class:`WrongLastSequence`; any other error -> the matching
:class:`~schemas.errors.JetkubeError`). A write whose ack does not come within the timeout fails
with :class:`~schemas.errors.Timeout` and its token is forgotten at once (any cancelled request's
is), so nothing hangs and the map holds only requests still waited for.
:class:`Replies` (:func:`replies_for`) is the plain one, for :func:`bus.rpc.request`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import nats.errors
import structlog
from nats.aio.msg import Msg

from bus.direct import subscribe_direct, write_now
from bus.local import LocalMsg
from schemas.errors import InternalError, JetkubeError, ServiceUnavailable, Timeout

log = structlog.get_logger(__name__)

WRONG_LAST_SEQUENCE = 10071
MAX_OUTSTANDING = 100_000
LOW_CONCURRENCY = 2  # at most this many outstanding: write at once rather than at the flusher's turn

T = TypeVar("T")


class WrongLastSequence(Exception):
    """The expected-last-subject-sequence check failed (a lost compare-and-set)."""


# A clustered (R3) stream answers a lost compare-and-set with 10164 "wrong last sequence" (no
# number), a single server with 10071 "wrong last sequence: N". Both are a Conflict, not a 500:
# the chaos run (cli/chaos) found the R3 one turned into InternalError.
WRONG_LAST_SEQUENCE_CODES = frozenset({10071, 10164})


def is_wrong_last_sequence(error: dict[str, Any]) -> bool:
    """Whether a JetStream API error is a failed expected-last-sequence check."""
    return error.get("err_code") in WRONG_LAST_SEQUENCE_CODES or str(error.get("description", "")).startswith(
        "wrong last sequence"
    )


class InboxMux(Generic[T]):
    """Many requests outstanding on one wildcard reply subscription; :meth:`parse` makes results."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self._prefix = ""
        self._sub: Any = None
        self._futures: dict[str, asyncio.Future[T]] = {}
        self._tokens = itertools.count(1)
        self._lock = asyncio.Lock()

    async def _ensure(self) -> None:
        if self._sub is not None:
            return
        async with self._lock:
            if self._sub is None:
                prefix = self.nc.new_inbox()
                self._prefix = prefix + "."
                self._sub = await subscribe_direct(self.nc, prefix + ".*", self._on_reply)

    def parse(self, msg: Msg) -> T:
        """The result of a reply; raising fails the request's future with that error."""
        raise NotImplementedError

    def _on_reply(self, msg: Msg) -> None:
        fut = self._futures.pop(msg.subject[len(self._prefix) :], None)
        if fut is None or fut.done():
            return
        try:
            fut.set_result(self.parse(msg))
        except (JetkubeError, WrongLastSequence) as err:
            fut.set_exception(err)
        except Exception as err:  # a malformed reply fails its request, never the read loop
            fut.set_exception(InternalError(f"malformed reply on {msg.subject}: {err}"))

    async def send(
        self,
        subject: str,
        payload: bytes,
        headers: dict[str, str] | None = None,
        *,
        urgent: bool = True,
        local: Callable[[Msg], None] | None = None,
    ) -> asyncio.Future[T]:
        """Publish one request; the returned future resolves to its parsed reply (or fails).

        ``urgent=False``: someone waits on it only indirectly (an event, a log line, one write of a
        batch that :meth:`flush_batch` writes at its end), so it never costs a write of its own.
        ``local``: the entry of a responder of this process and connection (bus/local.py); the
        request is handed to it instead of published, and its reply comes back the same way."""
        await self._ensure()
        if len(self._futures) > MAX_OUTSTANDING:
            self._purge()
        token = str(next(self._tokens))
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._futures[token] = fut
        # A request given up on (timed out, cancelled) leaves the map at once, not at the purge.
        fut.add_done_callback(lambda f, t=token: self._forget(t, f))
        try:
            if local is not None:
                self._hand_over(local, subject, payload, self._prefix + token, headers)
            else:
                await self.nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
                if urgent and len(self._futures) <= LOW_CONCURRENCY:
                    write_now(self.nc)
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
            fut.set_exception(InternalError(f"NATS refused a message: {err}"))
        return fut

    def _hand_over(
        self,
        enqueue: Callable[[Msg], None],
        subject: str,
        payload: bytes,
        reply: str,
        headers: dict[str, str] | None,
    ) -> None:
        """Give a request to a local responder as the read loop would give it the message; its
        reply resolves the future as one from NATS would. Refused as nats-py's publish refuses it
        when over the server's payload limit, so both ways fail alike."""
        if self.nc.is_closed:
            raise nats.errors.ConnectionClosedError
        if len(payload) > self.nc.max_payload:
            raise nats.errors.MaxPayloadError
        nc = self.nc

        def deliver(data: bytes) -> None:
            self._on_reply(Msg(nc, subject=reply, data=data))

        headers = dict(headers or {})
        enqueue(LocalMsg(nc, subject=subject, reply=reply, data=payload, headers=headers, deliver=deliver))

    def flush_batch(self) -> None:
        """Write what a batch of ``urgent=False`` sends left pending, in one write, now."""
        write_now(self.nc)

    async def wait(self, fut: asyncio.Future[T], timeout: float, what: str) -> T:
        """The result of one request; :class:`Timeout` naming ``what`` (and the future dropped)."""
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            fut.cancel()
            raise Timeout(what) from None

    def _forget(self, token: str, fut: asyncio.Future[T]) -> None:
        if fut.cancelled() and self._futures.get(token) is fut:
            del self._futures[token]

    @property
    def outstanding(self) -> int:
        """Requests waiting for their reply (for tests and metrics)."""
        return len(self._futures)

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


class Replies(InboxMux[Msg]):
    """Plain request/reply: the reply message itself (no-responders is the caller's to read)."""

    def parse(self, msg: Msg) -> Msg:
        return msg


class AckPipeline(InboxMux[int]):
    """Publishes to JetStream with many acks outstanding; each resolves to its stream sequence."""

    def parse(self, msg: Msg) -> int:
        headers = msg.headers
        if headers and headers.get("Status") == "503":
            raise ServiceUnavailable("JetStream is unavailable (no responders)")
        try:
            ack = json.loads(msg.data)
        except ValueError:
            raise InternalError(f"malformed JetStream ack: {msg.data[:80]!r}") from None
        error = ack.get("error")
        if error:
            if is_wrong_last_sequence(error):
                raise WrongLastSequence(error.get("description", ""))
            raise InternalError(f"state store error: {error.get('description', error)}")
        return int(ack["seq"])

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str], *, urgent: bool = True
    ) -> asyncio.Future[int]:
        """Send one write; the returned future resolves to its stream sequence (or fails)."""
        return await self.send(subject, payload, headers, urgent=urgent)

    async def ack(self, fut: asyncio.Future[int], timeout: float) -> int:
        """The sequence of one write; :class:`Timeout` (and the future dropped) after ``timeout``."""
        return await self.wait(fut, timeout, "the state store did not acknowledge a write in time")

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


# one of each per NATS connection, shared by every user of it (Store, EventRecorder, ApiClient)
_PIPELINES: weakref.WeakKeyDictionary[Any, AckPipeline] = weakref.WeakKeyDictionary()
_REPLIES: weakref.WeakKeyDictionary[Any, Replies] = weakref.WeakKeyDictionary()


def pipeline_for(nc: Any) -> AckPipeline:
    """The connection's :class:`AckPipeline`, created on first use."""
    pipeline = _PIPELINES.get(nc)
    if pipeline is None:
        pipeline = _PIPELINES[nc] = AckPipeline(nc)
    return pipeline


def replies_for(nc: Any) -> Replies:
    """The connection's :class:`Replies`, created on first use."""
    mux = _REPLIES.get(nc)
    if mux is None:
        mux = _REPLIES[nc] = Replies(nc)
    return mux
