"""Request/reply over NATS: the api's verbs and the kubelets' logs/exec.

Wire format (public): a request is msgpack of a mapping; the reply is msgpack of
``{"object": ...}`` on success or ``{"error": <Kubernetes Status>}`` on failure. A success may carry
``"warnings": [text, ...]`` too (a handler's :func:`warn`: Kubernetes' ``Warning`` headers, e.g.
``unknown field "spec.foo"`` under ``fieldValidation: Warn``); :func:`request` hands them to the
caller's ``warnings`` list.

Asking: :func:`request` sends on the connection's one reply inbox (:class:`bus.pipeline.Replies`);
no subscriber is ServiceUnavailable naming the subject, no reply in time is Timeout.

Serving: :class:`Responder` subscribes (in a queue group, so replicas share the load) and hands
messages to ``concurrency`` worker coroutines, so one slow request never blocks the others and
many compare-and-set writes are in flight at once. Messages are queued from nats-py's read loop
(:func:`bus.direct.subscribe_direct`); past ``concurrency * 64`` waiting, a request is refused at
once with 429 TooManyRequests, as kube-apiserver's max-requests-inflight does. Its ``run()`` is
meant to be supervised: it returns only when cancelled. A handler's ``JetkubeError`` becomes an
error reply; any other exception is logged with its traceback and answered as an InternalError,
and serving goes on.

Deadlines: every request carries ``Jetkube-Deadline`` (epoch seconds: when its client gives up). A
worker drops a request already past it, unanswered: a replica that was frozen (a long GC pause, a
paused VM) and resumes with a backlog must not apply, many seconds late, writes whose clients were
told they failed. Reads (``request(..., retry=True)``) are tried again with what is left of the
time-out when one attempt gets no reply, which a queue group may route to another replica; writes
are not, since their first attempt may have landed (a client resolves that by reading).
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats.errors
import structlog
from nats.aio.msg import Msg

from bus.codec import decode, encode
from bus.connection import Bus
from bus.direct import subscribe_direct, write_now
from bus.local import LocalMsg, offer, withdraw
from bus.local import find as local_responder
from bus.pipeline import LOW_CONCURRENCY, replies_for
from schemas.errors import (
    BadRequest,
    InternalError,
    JetkubeError,
    RequestEntityTooLarge,
    ServiceUnavailable,
    Timeout,
    TooManyRequests,
    from_status,
)

log = structlog.get_logger(__name__)

Handler = Callable[[str, dict[str, Any], Msg], Awaitable[Any]]
MAX_REQUEST_BYTES = 3 * 1024 * 1024
TOO_MANY_BACKOFF = 0.05  # the first wait after a 429, doubled each time up to 1 s
DEADLINE_HEADER = "Jetkube-Deadline"
_WARNINGS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("rpc_warnings", default=None)


def warn(text: str) -> None:
    """A warning for the reply of the request being answered (nothing outside a responder)."""
    got = _WARNINGS.get()
    if got is not None and text not in got:
        got.append(text)


MIN_ATTEMPT = 2.0  # a retried read's attempts last a third of its time-out, at least this long


def past_deadline(headers: dict[str, str] | None, now: float) -> bool:
    """Whether a request's client has given up on it (no header, or a bad one: never)."""
    raw = (headers or {}).get(DEADLINE_HEADER)
    if not raw:
        return False
    try:
        return float(raw) < now
    except ValueError:
        return False


async def request(
    bus: Bus,
    subject: str,
    payload: dict[str, Any],
    *,
    timeout: float = 10.0,
    retry: bool = False,
    local: bool = False,
    warnings: list[str] | None = None,
) -> Any:
    """Send one request and return the reply's ``object``; a server error is raised again. The
    reply's warnings, if any, are added to ``warnings``.

    A 429 TooManyRequests (a replica far behind) is retried after a short, growing wait while the
    timeout allows, as client-go retries it; the last one is raised. With ``retry`` (only for
    requests that are safe to repeat: reads), an attempt without a reply is sent again while the
    time-out allows (each attempt gets a third of it, at least MIN_ATTEMPT seconds). With
    ``local``, a responder of this process on the same connection answers it without NATS when
    there is one serving (bus/local.py), exactly as it would answer it over NATS."""
    if bus.nc.is_closed:
        raise ServiceUnavailable(f"the connection to NATS at {bus.url} is closed")
    replies = replies_for(bus.nc)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    data = encode(payload)
    headers = {DEADLINE_HEADER: f"{time.time() + timeout:.3f}"}
    attempt = 0
    while True:
        left = max(deadline - loop.time(), 0.001)
        wait = min(left, max(MIN_ATTEMPT, timeout / 3)) if retry else left
        try:
            here = local_responder(bus.nc, subject) if local else None
            sent = await replies.send(subject, data, headers, local=here._enqueue if here else None)
            msg = await replies.wait(sent, wait, f"no reply on {subject} within {timeout:g}s")
        except Timeout:
            if wait >= left:
                raise
            log.info("rpc.retry", subject=subject, after=round(wait, 3))
            continue
        if not msg.data and msg.headers and msg.headers.get("Status") == "503":
            raise ServiceUnavailable(
                f"nothing answers on {subject} at {bus.url}: is the control plane running (`jetkube up`)?"
            )
        reply = decode(msg.data)
        if not isinstance(reply, dict):
            raise InternalError(f"malformed reply on {subject}")
        if "error" not in reply:
            if warnings is not None and isinstance(reply.get("warnings"), list):
                warnings.extend(str(w) for w in reply["warnings"])
            return reply.get("object")
        err = from_status(reply["error"])
        backoff = min(TOO_MANY_BACKOFF * 2**attempt, 1.0)
        if not isinstance(err, TooManyRequests) or loop.time() + backoff > deadline:
            raise err
        await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
        attempt += 1


class Responder:
    """Serves ``<prefix>.<verb>`` requests with ``handler(verb, payload, msg)``."""

    def __init__(
        self,
        bus: Bus,
        subject: str,
        handler: Handler,
        *,
        queue: str | None = None,
        concurrency: int = 64,
        name: str = "responder",
    ) -> None:
        self.bus = bus
        self.subject = subject
        self.handler = handler
        self.queue = queue
        self.concurrency = concurrency
        self.name = name
        self._inbox: asyncio.Queue[Msg] = asyncio.Queue(maxsize=concurrency * 64)
        self._answering = 0
        self._refusals: set[asyncio.Task[None]] = set()
        self.serving = asyncio.Event()
        self.expired = 0  # requests dropped because their client had already given up

    def _enqueue(self, msg: Msg) -> None:
        """From the read loop (no task between): queue for a worker, or refuse when far behind."""
        try:
            self._inbox.put_nowait(msg)
        except asyncio.QueueFull:  # kube-apiserver's max-requests-inflight answer
            refusal = TooManyRequests(
                f"{self._inbox.qsize()} requests are waiting; please try again later"
            ).to_status()
            task = asyncio.ensure_future(self._reply(msg, {"error": refusal}))
            self._refusals.add(task)
            task.add_done_callback(self._refusals.discard)

    def is_serving(self) -> bool:
        return self.serving.is_set()

    def _start_serving(self) -> None:
        """Serving: this process's clients of the same connection may hand requests over
        directly (bus/local.py) from now on."""
        self.serving.set()
        offer(self.bus.nc, self)

    def _stop_serving(self) -> None:
        self.serving.clear()
        withdraw(self.bus.nc, self)

    async def run(self) -> None:
        sub = await subscribe_direct(self.bus.nc, self.subject, self._enqueue, queue=self.queue or "")
        await self.bus.nc.flush()
        self._start_serving()
        try:
            async with asyncio.TaskGroup() as tg:
                for i in range(self.concurrency):
                    tg.create_task(self._worker(), name=f"{self.name}-worker-{i}")
        finally:
            self._stop_serving()
            try:
                await sub.unsubscribe()
            except nats.errors.Error:
                pass

    async def _worker(self) -> None:
        while True:
            msg = await self._inbox.get()
            if past_deadline(msg.headers, time.time()):
                self.expired += 1
                log.warning("rpc.expired", subject=msg.subject, dropped=self.expired)
                continue
            await self.answer(msg)

    async def answer(self, msg: Msg) -> None:
        self._answering += 1
        try:
            await self._reply(msg, await self._result(msg))
        finally:
            self._answering -= 1

    async def _result(self, msg: Msg) -> dict[str, Any]:
        verb = msg.subject.rsplit(".", 1)[-1]
        try:
            if len(msg.data) > MAX_REQUEST_BYTES:
                raise RequestEntityTooLarge(
                    f"the request is {len(msg.data)} bytes; the limit is {MAX_REQUEST_BYTES} bytes"
                )
            payload = decode(msg.data)
            if not isinstance(payload, dict):
                raise BadRequest("the request must be a msgpack map")
            said: list[str] = []
            token = _WARNINGS.set(said)
            try:
                result = await self.handler(verb, payload, msg)
            finally:
                _WARNINGS.reset(token)
            reply: dict[str, Any] = {"object": result}
            if said:
                reply["warnings"] = said
        except JetkubeError as err:
            reply = {"error": err.to_status()}
        except Exception as err:
            log.exception("rpc.handler_failed", subject=msg.subject)
            reply = {"error": InternalError(f"internal error: {type(err).__name__}: {err}").to_status()}
        return reply

    async def _reply(self, msg: Msg, reply: dict[str, Any]) -> None:
        if msg.reply:
            data = encode(reply)
            limit = self.bus.nc.max_payload
            if len(data) > limit:
                too_big = RequestEntityTooLarge(
                    f"the reply is {len(data)} bytes, over the server's {limit}-byte message limit; "
                    "read large lists from the state bucket's stream (ApiClient.list does)"
                )
                data = encode({"error": too_big.to_status()})
            if isinstance(msg, LocalMsg):  # a request from this process (bus/local.py)
                msg.deliver(data)
                return
            try:
                await self.bus.nc.publish(msg.reply, data)
                if self._answering <= LOW_CONCURRENCY:
                    write_now(self.bus.nc)  # nobody else's reply will share the flusher's write
            except nats.errors.Error as err:
                log.warning("rpc.reply_failed", subject=msg.subject, error=str(err))
