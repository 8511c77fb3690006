"""API priority and fairness, in kube-apiserver's spirit: one user's flood cannot starve the others.

Every api request belongs to a *flow*: the NATS user who sent it, read from its reply inbox
(``_INBOX.<user>.…``, which only that user may subscribe to; with NATS auth off, each connection's
inbox is its own flow). Flows are *system* (the control plane, the kubelets ``node-*``) or not.

:class:`FairQueues` (pure, no I/O) holds one queue per flow, at most ``per_flow`` requests deep
(system flows: only the total), and hands requests to workers round robin over the flows that
wait, so a user with a thousand requests queued waits behind its own requests, not in front of
everyone else's. Of the
``workers``, ``reserved`` serve system flows only: however many users flood, node heartbeats and
the controllers always find a free worker. A request over its flow's depth (or over the total)
is refused at once with 429 TooManyRequests and ``details.retryAfterSeconds`` (Kubernetes'
Retry-After), never queued.

:class:`FairResponder` is the api's :class:`~bus.rpc.Responder` with these queues in place of the
single FIFO, and with the request's size checked before it is queued (413 at once).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import structlog
from nats.aio.msg import Msg

from bus.auth import CONTROLPLANE, NODE_PREFIX, requester_of
from bus.rpc import MAX_REQUEST_BYTES, Responder
from schemas.errors import RequestEntityTooLarge, TooManyRequests

log = structlog.get_logger(__name__)

PER_FLOW = 64  # requests one flow may have waiting
RETRY_AFTER = 1  # seconds, as kube-apiserver's APF answers


def flow_of(msg: Any, *, auth: bool = True) -> tuple[str, bool]:
    """(flow, is_system) of a request. The trusted subjects ``jetkube.api.<verb>`` are the control
    plane's once auth is on; with it off anyone may use them: every connection is then its own
    flow (served round robin) and, as before, none is held to a flow's depth."""
    subject = str(getattr(msg, "subject", ""))
    who = requester_of(getattr(msg, "reply", None)) or "unknown"
    if ".u." not in subject:
        return who, (who == CONTROLPLANE) or not auth
    return who, who == CONTROLPLANE or who.startswith(NODE_PREFIX)


@dataclass
class FairQueues:
    workers: int
    reserved: int
    per_flow: int = PER_FLOW
    total: int = 4096
    flows: dict[str, deque[Any]] = field(default_factory=dict)
    system: dict[str, bool] = field(default_factory=dict)
    order: deque[str] = field(default_factory=deque)  # flows with requests waiting, round robin
    size: int = 0
    busy_users: int = 0  # workers serving a non-system request now

    def push(self, flow: str, item: Any, is_system: bool) -> str | None:
        """Queue ``item``; the reason it is refused instead, or None."""
        queue = self.flows.get(flow)
        # system flows (one connection carries every controller's writes) share only the total
        if queue is not None and not is_system and len(queue) >= self.per_flow:
            return f"{len(queue)} requests of {flow} are waiting"
        if self.size >= self.total:
            return f"{self.size} requests are waiting"
        if queue is None:
            queue = self.flows[flow] = deque()
            self.system[flow] = is_system
        if not queue:
            self.order.append(flow)
        queue.append(item)
        self.size += 1
        return None

    def pop(self) -> tuple[Any, bool] | None:
        """The next request (and whether its flow is a system one), or None when nothing may be
        served now: no request waits, or only users' while the unreserved workers are all busy."""
        users_allowed = self.busy_users < self.workers - self.reserved
        for _ in range(len(self.order)):
            flow = self.order.popleft()
            is_system = self.system.get(flow, False)
            if not is_system and not users_allowed:
                self.order.append(flow)
                continue
            queue = self.flows[flow]
            item = queue.popleft()
            self.size -= 1
            if queue:
                self.order.append(flow)
            else:
                del self.flows[flow]
                self.system.pop(flow, None)
            return item, is_system
        return None


class FairResponder(Responder):
    """The api's responder: per-flow queues (:class:`FairQueues`) instead of one FIFO."""

    def __init__(self, *args: Any, reserved: int | None = None, per_flow: int = PER_FLOW, **kw: Any) -> None:
        super().__init__(*args, **kw)
        # users (not nodes, not the control plane) hold at most a quarter of the workers at once:
        # a list of thousands of pods costs the event loop far more than a heartbeat does
        reserved = reserved if reserved is not None else self.concurrency - max(1, self.concurrency // 4)
        self.queues = FairQueues(
            self.concurrency, min(reserved, self.concurrency - 1), per_flow, self.concurrency * 64
        )
        self._ready = asyncio.Event()

    def _refuse(self, msg: Msg, err: Exception) -> None:
        task = asyncio.ensure_future(self._reply(msg, {"error": err.to_status()}))  # type: ignore[attr-defined]
        self._refusals.add(task)
        task.add_done_callback(self._refusals.discard)

    def _enqueue(self, msg: Msg) -> None:
        if len(msg.data) > MAX_REQUEST_BYTES:  # before it takes a place in any queue
            self._refuse(
                msg,
                RequestEntityTooLarge(
                    f"the request is {len(msg.data)} bytes; the limit is {MAX_REQUEST_BYTES} bytes"
                ),
            )
            return
        flow, is_system = flow_of(msg, auth=bool(getattr(self.bus, "identity", None)))
        refusal = self.queues.push(flow, msg, is_system)
        if refusal:
            log.info("api.throttled", flow=flow, why=refusal)
            self._refuse(
                msg,
                TooManyRequests(
                    f"{refusal}; please try again later", details={"retryAfterSeconds": RETRY_AFTER}
                ),
            )
            return
        self._ready.set()

    async def _worker(self) -> None:
        while True:
            got = self.queues.pop()
            if got is None:
                self._ready.clear()
                await self._ready.wait()
                continue
            msg, is_system = got
            if not is_system:
                self.queues.busy_users += 1
            try:
                await self.answer(msg)
            finally:
                if not is_system:
                    self.queues.busy_users -= 1
                    self._ready.set()  # a user's request may be waiting for this worker
