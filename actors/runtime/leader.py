"""Leader election on a Lease object, as client-go's ``leaderelection`` package does it.

Singleton actors (the scheduler, each controller) run in every control-plane replica but work in
one: the holder of the Lease ``<name>`` (coordination.k8s.io/v1 shape: ``spec.holderIdentity``,
``leaseDurationSeconds``, ``acquireTime``, ``renewTime``, ``leaseTransitions``). Every write is a
compare-and-set on the lease's resourceVersion, so two candidates can never both win one round.

Lifecycle of :meth:`LeaderElector.run`:

1. **Candidate.** Every ``retry_period`` (with 20 % jitter) read the lease. Take it when it is absent,
   released (empty holder) or expired. *Expired* is judged by this process's monotonic clock: the
   lease is stale when its record has not changed for ``leaseDurationSeconds`` since *we* last saw it
   change. Remote timestamps are written for humans and never compared, so clock skew between hosts
   does not matter.
2. **Leader.** ``on_started_leading()`` runs as a task while the lease is renewed every
   ``retry_period``. If no renewal succeeds for ``renew_deadline`` seconds (or another holder shows
   up), leadership is lost: the work is cancelled, ``on_stopped_leading()`` is called, and the
   elector is a candidate again. ``renew_deadline < lease_duration`` leaves the old leader time to
   stop before anyone else may take over.
3. **Fencing.** While leading, :meth:`LeaderElector.fence` gives the token that the leader's writes
   carry (:mod:`actors.runtime.fencing`): the lease, the holder and its epoch (``leaseTransitions``
   as this holder took it). It is ``None`` as soon as the last successful renewal was *sent* more than
   ``renew_deadline`` ago by this process's monotonic clock, which keeps running while the process is
   frozen (SIGSTOP, ``docker pause``, a long GC pause): a leader that wakes up after its lease ran out
   refuses to write before its renewer has even run. The api checks the token against the stored
   lease on every fenced write, so a write sent just before the loss is refused too once another
   replica holds the lease.
4. **Stop.** Cancelling ``run`` (supervisor shutdown) or the work returning releases the lease
   (empty holder, 1 s duration), so a standby takes over on its next try instead of waiting for
   expiry. Work that raises also releases, and the exception propagates to the supervisor, which
   restarts the elector with backoff.

The lease lives directly in the KV store (:class:`StoreLeaseBackend`), not behind the api actor:
leader election must keep working while the api actor itself is one of the things being elected.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from actors.runtime.supervisor import guarded_task
from bus.interfaces import ObjectStore
from schemas.errors import AlreadyExists, BadRequest, Conflict, NotFound

log = structlog.get_logger(__name__)

Obj = dict[str, Any]


class LeaseBackend(Protocol):
    """Where leases are kept: get (None if absent), create (AlreadyExists), update (Conflict on CAS)."""

    async def get(self, name: str) -> Obj | None: ...

    async def create(self, obj: Obj) -> Obj: ...

    async def update(self, obj: Obj) -> Obj: ...


class StoreLeaseBackend:
    """Leases in ``bus.store.Store`` under the ``leases`` resource, in one namespace."""

    def __init__(self, store: ObjectStore, namespace: str = "kube-system") -> None:
        self.store = store
        self.namespace = namespace

    async def get(self, name: str) -> Obj | None:
        try:
            lease: Obj = await self.store.get("leases", self.namespace, name)
        except NotFound:
            return None
        return lease

    async def create(self, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["namespace"] = self.namespace
        created: Obj = await self.store.create("leases", obj)
        return created

    async def update(self, obj: Obj) -> Obj:
        updated: Obj = await self.store.update("leases", obj)
        return updated


def micro_time() -> str:
    """Kubernetes' MicroTime: RFC 3339 UTC with microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaigns for lease ``name`` as ``identity``; runs the leader's work only while it holds it."""

    def __init__(
        self,
        lease_store: LeaseBackend,
        name: str,
        identity: str,
        lease_duration: float = 15,
        renew_deadline: float = 10,
        retry_period: float = 2,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not lease_duration > renew_deadline > retry_period > 0:
            raise BadRequest("leader election needs lease_duration > renew_deadline > retry_period > 0")
        self.backend = lease_store
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.clock = clock
        self.attempts = 0  # reads of the lease to acquire or renew it (tests wait on it)
        self._leading = False
        self._observed_spec: Obj | None = None
        self._observed_time = 0.0
        self._renewed_at: float | None = None  # when the last successful acquire/renew was sent
        self._epoch = 0  # leaseTransitions of the lease as we hold it
        self._lease_revision = 0  # resourceVersion of our last write of the lease

    @property
    def is_leader(self) -> bool:
        return self._leading

    def fence(self) -> Obj | None:
        """The fencing token of our writes while the lease is surely ours, else ``None``."""
        if not self._leading or self._renewed_at is None:
            return None
        if self.clock() - self._renewed_at >= self.renew_deadline:
            return None
        return {
            "lease": f"{getattr(self.backend, 'namespace', 'kube-system')}/{self.name}",
            "holder": self.identity,
            "epoch": self._epoch,
        }

    @property
    def lease_revision(self) -> int:
        """The revision of our last write of the lease (its acquisition, then each renewal)."""
        return self._lease_revision

    @property
    def leader(self) -> str:
        """The holder identity last seen on the lease ("" when released or unknown)."""
        return str((self._observed_spec or {}).get("holderIdentity") or "")

    async def run(
        self,
        on_started_leading: Callable[[], Awaitable[Any]],
        on_stopped_leading: Callable[[], Any] | None = None,
    ) -> None:
        """Campaign, lead, and campaign again after a loss, until cancelled or the work returns."""
        while True:
            await self._acquire()
            self._leading = True
            log.info("leader.started", lease=self.name, identity=self.identity)
            work = guarded_task(f"leader:{self.name}:work", _call(on_started_leading), log_errors=False)
            renewer = guarded_task(f"leader:{self.name}:renew", self._renew_until_lost(), log_errors=False)
            try:
                await asyncio.wait({work, renewer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                work.cancel()
                renewer.cancel()
                await asyncio.wait({work, renewer})
                self._leading = False
                self._renewed_at = None
                await self._release()
                log.info("leader.stopped", lease=self.name, identity=self.identity)
                if on_stopped_leading is not None:
                    await _maybe_await(on_stopped_leading())
            if work.cancelled():
                continue  # leadership lost: back to candidate
            exc = work.exception()
            if exc is not None:
                raise exc
            return

    # -- campaigning --------------------------------------------------------------------------

    async def _acquire(self) -> None:
        while True:
            if await self._attempt():
                return
            await asyncio.sleep(self.retry_period * (1 + 0.2 * random.random()))

    async def _renew_until_lost(self) -> None:
        last_renew = self.clock()
        while True:
            await asyncio.sleep(self.retry_period)
            while True:
                remaining = self.renew_deadline - (self.clock() - last_renew)
                if remaining <= 0:
                    log.warning("leader.renew_deadline_passed", lease=self.name, identity=self.identity)
                    return
                if await self._attempt(within=remaining):
                    last_renew = self.clock()
                    break
                if self.leader not in ("", self.identity):
                    log.warning("leader.taken_over", lease=self.name, identity=self.identity, by=self.leader)
                    return
                await asyncio.sleep(min(self.retry_period, max(remaining, 0.0)))

    async def _attempt(self, within: float | None = None) -> bool:
        sent = self.clock()
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that
            # arrives as the inner call completes, and the renewer would then never stop.
            async with asyncio.timeout(within or self.renew_deadline):
                won = await self._try_acquire_or_renew()
            if won:
                self._renewed_at = sent  # the lease is ours from when we asked, not when told
            return won
        except asyncio.CancelledError:
            raise
        except (Conflict, AlreadyExists):
            return False  # another candidate wrote first
        except Exception as exc:
            log.warning("leader.lease_unreachable", lease=self.name, error=f"{type(exc).__name__}: {exc}")
            return False

    async def _try_acquire_or_renew(self) -> bool:
        self.attempts += 1
        now = micro_time()
        lease = await self.backend.get(self.name)
        if lease is None:
            spec = self._spec(now, acquire_time=now, transitions=0)
            created = await self.backend.create(
                {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.name},
                    "spec": spec,
                }
            )
            self._observe(created.get("spec") or spec)
            self._held(created, 0)
            return True
        old = lease.get("spec") or {}
        self._observe(old)
        holder = old.get("holderIdentity") or ""
        if holder and holder != self.identity and not self._expired():
            return False
        if holder == self.identity:
            spec = self._spec(now, old.get("acquireTime") or now, int(old.get("leaseTransitions") or 0))
        else:
            spec = self._spec(now, now, int(old.get("leaseTransitions") or 0) + 1)
            log.info("leader.taking_over", lease=self.name, identity=self.identity, previous=holder or None)
        new = copy.deepcopy(lease)
        new["spec"] = {**old, **spec}
        updated = await self.backend.update(new)
        self._observe(updated.get("spec") or new["spec"])
        self._held(updated, int(spec["leaseTransitions"]))
        return True

    def _held(self, lease: Obj, epoch: int) -> None:
        self._epoch = epoch
        self._lease_revision = int((lease.get("metadata") or {}).get("resourceVersion") or 0)

    def _spec(self, now: str, acquire_time: str, transitions: int) -> Obj:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.lease_duration,
            "acquireTime": acquire_time,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def _observe(self, spec: Obj) -> None:
        """Remember the lease record; restart the expiry clock whenever it changed."""
        if spec != self._observed_spec:
            self._observed_spec = copy.deepcopy(spec)
            self._observed_time = self.clock()

    def _expired(self) -> bool:
        spec = self._observed_spec or {}
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        return self._observed_time + duration <= self.clock()

    async def _release(self) -> None:
        """Give the lease up if we still hold it, so a standby need not wait for expiry."""
        try:
            async with asyncio.timeout(self.retry_period):
                lease = await self.backend.get(self.name)
                if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                    return
                new = copy.deepcopy(lease)
                now = micro_time()
                new["spec"] = {
                    **(lease.get("spec") or {}),
                    "holderIdentity": "",
                    "leaseDurationSeconds": 1,
                    "acquireTime": now,
                    "renewTime": now,
                }
                updated = await self.backend.update(new)
                self._observe(updated.get("spec") or new["spec"])
                log.info("leader.released", lease=self.name, identity=self.identity)
        except Exception as exc:
            log.warning("leader.release_failed", lease=self.name, error=f"{type(exc).__name__}: {exc}")


async def _call(factory: Callable[[], Awaitable[Any]]) -> Any:
    return await factory()


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value
