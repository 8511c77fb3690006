"""API priority and fairness, in kube-apiserver's spirit: one user's flood cannot starve the others.

Every api request belongs to a *flow*: the NATS user who sent it, read from its reply inbox
(``_INBOX.<user>.…``, which only that user may subscribe to; with NATS auth off, each connection's
inbox is its own flow). Flows are *system* (the control plane, the kubelets ``node-*``) or not.

Requests are classified into priority levels (actors/api/fairness_levels.py: leader-election,
system-nodes, workload-high, global-default, catch-all), each with seats of its own: node
heartbeats and Lease renewals never wait behind a viewer's lists. Within a level, requests queue
per flow and are served round robin; a list occupies seats by the number of objects it reads
(APF's work estimator), so few large lists are in flight (and in memory) at once. A request over
its flow's depth (or over its level's total) is refused at once with 429 TooManyRequests and
``details.retryAfterSeconds`` (Kubernetes' Retry-After), never queued.

:class:`FairResponder` is the api's :class:`~bus.rpc.Responder` with these levels in place of the
single FIFO, and with the request's size checked before it is queued (413 at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import nats.errors
import structlog
from nats.aio.msg import Msg

from actors.api.fairness_levels import (
    CATCH_ALL,
    GLOBAL_DEFAULT,
    PER_FLOW,
    Level,
    classify,
    make_levels,
    width,
)
from bus.auth import CONTROLPLANE, NODE_PREFIX, requester_of
from bus.codec import decode
from bus.direct import subscribe_direct
from bus.rpc import MAX_REQUEST_BYTES, Responder, past_deadline
from schemas.errors import RequestEntityTooLarge, TooManyRequests

log = structlog.get_logger(__name__)

RETRY_AFTER = 1  # seconds, as kube-apiserver's APF answers
WIDE_REST = 2.0  # a user's wide request holds its seats this many times its duration longer
MAX_REST = 10.0  # seconds, at most
QUEUE_WAIT = 15.0  # seconds a request may wait for seats before it is refused with 429
RESTING_LEVELS = frozenset({GLOBAL_DEFAULT, CATCH_ALL})


def flow_of(msg: Any, *, auth: bool = True, payload: dict[str, Any] | None = None) -> tuple[str, bool]:
    """(flow, is_system) of a request. The trusted subjects ``jetkube.api.<verb>`` are the control
    plane's once auth is on; with it off anyone may use them: every connection is then its own
    flow (served round robin) and, as before, none is held to a flow's depth. A request the control
    plane makes for an impersonated user (the HTTPS gateway speaks for its HTTP users so) is in
    that user's flow, as kube-apiserver classifies after impersonation; another user's ``--as``
    stays in its own."""
    subject = str(getattr(msg, "subject", ""))
    who = requester_of(getattr(msg, "reply", None)) or "unknown"
    if who == CONTROLPLANE and payload:
        imp = payload.get("impersonate")
        user = imp.get("user") if isinstance(imp, dict) else None
        if isinstance(user, str) and user:
            return user, user == CONTROLPLANE or user.startswith(NODE_PREFIX)
    if ".u." not in subject:
        return who, (who == CONTROLPLANE) or not auth
    return who, who == CONTROLPLANE or who.startswith(NODE_PREFIX)


class FairResponder(Responder):
    """The api's responder: priority levels with per-flow queues (module doc) instead of one FIFO.

    ``count_of(resource)`` is the number of objects a list of ``resource`` reads (as last seen);
    it sets a list's width. Each dispatched request runs in a task of its own while it holds its
    seats; at most ``concurrency`` are in flight in the control plane's level, fewer in others.
    """

    def __init__(
        self,
        *args: Any,
        per_flow: int = PER_FLOW,
        count_of: Callable[[str], int] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.levels: dict[str, Level] = make_levels(self.concurrency, per_flow)
        self.count_of = count_of or (lambda _resource: 0)
        self._ready = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def _refuse(self, msg: Msg, err: Exception) -> None:
        task = asyncio.ensure_future(self._reply(msg, {"error": err.to_status()}))  # type: ignore[attr-defined]
        self._refusals.add(task)
        task.add_done_callback(self._refusals.discard)

    def _classify(self, msg: Msg) -> tuple[str, str, bool, int]:
        """(flow, priority level, is_system, seats) of a request; a payload that does not decode is
        served (and refused by the handler) as one seat of its flow's level."""
        verb = msg.subject.rsplit(".", 1)[-1]
        try:
            payload = decode(msg.data)
        except Exception:
            payload = None
        if not isinstance(payload, dict):
            payload = {}
        flow, is_system = flow_of(msg, auth=bool(getattr(self.bus, "identity", None)), payload=payload)
        name = classify(flow, is_system, verb, payload)
        resource = payload.get("resource")
        objects = self.count_of(resource) if isinstance(resource, str) else 0
        return flow, name, is_system, width(verb, objects, self.levels[name].seats)

    def _enqueue(self, msg: Msg) -> None:
        if len(msg.data) > MAX_REQUEST_BYTES:  # before it takes a place in any queue
            self._refuse(
                msg,
                RequestEntityTooLarge(
                    f"the request is {len(msg.data)} bytes; the limit is {MAX_REQUEST_BYTES} bytes"
                ),
            )
            return
        flow, name, is_system, seats = self._classify(msg)
        refusal = self.levels[name].push(flow, (msg, time.monotonic()), seats, is_system)
        if refusal:
            log.info("api.throttled", flow=flow, level=name, why=refusal)
            self._refuse(
                msg,
                TooManyRequests(
                    f"{refusal}; please try again later", details={"retryAfterSeconds": RETRY_AFTER}
                ),
            )
            return
        self._ready.set()

    async def run(self) -> None:
        sub = await subscribe_direct(self.bus.nc, self.subject, self._enqueue, queue=self.queue or "")
        await self.bus.nc.flush()
        self._start_serving()
        try:
            await self._dispatch()
        finally:
            self._stop_serving()
            for task in list(self._inflight):
                task.cancel()
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()

    async def _dispatch(self) -> None:
        """Hands every request whose seats are free to a task of its own, level by level."""
        while True:
            self._ready.clear()
            for level in self.levels.values():
                while (got := level.pop()) is not None:
                    (msg, queued_at), seats = got
                    if time.monotonic() - queued_at > QUEUE_WAIT:
                        # kube-apiserver's queue wait limit: a 429 now beats a client's timeout later
                        level.release(seats)
                        self._refuse(
                            msg,
                            TooManyRequests(
                                f"the request waited over {QUEUE_WAIT:.0f} s in priority level "
                                f"{level.name}; please try again later",
                                details={"retryAfterSeconds": RETRY_AFTER},
                            ),
                        )
                        continue
                    task = asyncio.ensure_future(self._serve(level, msg, seats))
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
            await self._ready.wait()

    async def _serve(self, level: Level, msg: Msg, seats: int) -> None:
        try:
            if past_deadline(msg.headers, time.time()):
                self.expired += 1
                log.warning("rpc.expired", subject=msg.subject, dropped=self.expired)
                return
            started = time.perf_counter()
            await self.answer(msg)
            if seats > 1 and level.name in RESTING_LEVELS:
                # a wide request's seats stay taken a while after it (APF's additional latency):
                # users' large lists take at most 1 / (1 + WIDE_REST) of the event loop's time
                await asyncio.sleep(min(MAX_REST, (time.perf_counter() - started) * WIDE_REST))
        finally:
            level.release(seats)
            self._ready.set()  # a request of this level may be waiting for these seats
