"""The scheduler actor: pending pods in, compare-and-set binds out, under leader election.

Agents and data flow::

    pod informer  --handlers-->  NodeCache (bound pods)  +  SchedulingQueue (pending pods)
    node informer --handlers-->  NodeCache (nodes)       +  "move unschedulable pods back"
    scheduling loop (leader only): batch of keys -> Scheduler.schedule (assumes) -> binder tasks
    binder task: Store.update_batch (pipelined CAS publishes) -> Conflict: forget + requeue
    reporter task: PodScheduled=False status (once per distinct message) + FailedScheduling event
    event task: records Scheduled / FailedScheduling Events from a bounded backlog (beyond
                ``EVENT_BACKLOG`` they are dropped, as client-go's broadcaster drops them), so
                recording an Event (an acknowledged publish) never holds up binding

Handlers run inside the informers' loops and only update the in-memory cache and queue. The loop
decides a whole batch synchronously (a few tens of microseconds per pod, see :mod:`.decide`), then
hands the binds to a guarded task and goes on with the next batch while the acks come back; at most
``max_inflight`` batches are in flight, which bounds memory and gives back-pressure. When fewer than
``batch_size`` pods wait, the loop lingers ``linger`` seconds (5 ms) first: informers deliver events
one at a time, and without it a burst of creates turns into thousands of one-pod batches, each a
separate socket write.

A decided pod is *assumed* on its node at once, so the next decisions see its requests. The bind's
outcome arrives twice: as the update_batch result (an error forgets the assumption and requeues the
pod, a Conflict after re-reading it from the informer) and as the informer's event for the bound
pod, which confirms the assumption. Pods bound by anyone else are accounted from the informer too,
and released when deleted or finished (Succeeded/Failed).

Unschedulable pods get PodScheduled=False/Unschedulable with kube-scheduler's message and a
FailedScheduling Warning event, written only when the message changes, and wait in the queue's
unschedulable set until a node is added or changes, or a bound pod goes away (never busy-looped;
see :mod:`.queue`).

Leadership: handlers run in every replica (a standby keeps a warm cache and a full queue); the loop
runs only while this replica holds the ``kube-scheduler`` lease. Losing it cancels the loop and
the in-flight binds, and every unconfirmed assumption is forgotten and requeued.

Fencing: the loop may run on for a while after the lease is lost (a leader frozen past its lease
wakes up mid-batch, and its renewer notices only at its next renewal), so every write (binds,
Unschedulable statuses, claims' selected node) goes through :meth:`SchedulerActor._fenced`: the
elector's own clock, then the stored lease's holder and epoch. The scheduler writes to the
store, not through the api, so this check is the api's ``check_fence`` made here; a refused bind is
counted (``stats["fenced"]``), forgotten and requeued, and nothing is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

from actors.metrics.instruments import (
    BINDING_LATENCY,
    POD_SCHEDULING_DURATION,
    SCHEDULE_ATTEMPTS,
    SCHEDULE_BATCH,
)
from actors.runtime.fencecheck import fenced_write
from actors.runtime.fencing import Fence
from actors.runtime.informer import Informer
from actors.runtime.leader import LeaderElector, StoreLeaseBackend
from actors.runtime.listwatch import StoreListWatcher
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor, guarded_task
from actors.scheduler.binding import (
    DEFAULT_SCHEDULER,
    bound_pod,
    is_bound,
    is_pending,
    is_terminal,
    unschedulable_pod,
)
from actors.scheduler.decide import Scheduler
from actors.scheduler.messages import POD_AFFINITY, SPREAD_SKEW
from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import pod_key
from actors.scheduler.queue import DEFAULT_FLUSH_INTERVAL, DEFAULT_MOVE_INTERVAL, SchedulingQueue
from actors.scheduler.volumes import ClaimCheck, check_claims, claim_names, select_node, with_volume_affinity
from schemas.errors import Conflict, JetkubeError, LeaseLost, NotFound
from schemas.status import now_rfc3339

CLAIM_RETRY = 5.0  # s: a pod whose claims are being provisioned is tried again after this at the latest

log = structlog.get_logger(__name__)
T = TypeVar("T")

Obj = dict[str, Any]
LEASE_NAME = "kube-scheduler"  # the name actors/controlplane.py elects the scheduler under
PENDING = "pending"  # the value of the pods' pending index
CONFLICT_RETRY = 0.05
ERROR_RETRY = 1.0
EVENT_BACKLOG = 10_000  # events waiting to be recorded; beyond it they are dropped, as client-go does


def _may_help(old: Obj, new: Obj) -> bool:
    """An update to an unschedulable pod that could change the decision (not our own status write)."""
    if old.get("spec") != new.get("spec"):
        return True
    o, n = old.get("metadata") or {}, new.get("metadata") or {}
    return o.get("labels") != n.get("labels") or o.get("annotations") != n.get("annotations")


class SchedulerActor:
    """Binds pending pods; see the module docstring. ``run()`` is the leader's work."""

    def __init__(
        self,
        store: Any,
        *,
        pods: Informer,
        nodes: Informer,
        recorder: Any = None,
        scheduler_name: str = DEFAULT_SCHEDULER,
        batch_size: int = 256,
        linger: float = 0.005,
        max_inflight: int = 8,
        scheduled_events: bool = True,
        move_interval: float = DEFAULT_MOVE_INTERVAL,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        scheduler: Scheduler | None = None,
        claims: Informer | None = None,
        volumes: Informer | None = None,
        classes: Informer | None = None,
    ) -> None:
        self.store = store
        self.fence = Fence()  # bound to the kube-scheduler lease's elector by whoever runs us under it
        self.claims, self.volumes, self.classes = claims, volumes, classes
        self.pods = pods
        self.nodes = nodes
        self.recorder = recorder
        self.scheduler_name = scheduler_name
        self.batch_size = batch_size
        self.linger = linger
        self.scheduled_events = scheduled_events
        self.cache = scheduler.cache if scheduler is not None else NodeCache()
        self.scheduler = scheduler or Scheduler(self.cache)
        self.queue = SchedulingQueue(move_interval=move_interval, flush_interval=flush_interval)
        self.stats: Counter[str] = Counter()
        self._reported: dict[str, str] = {}  # pod key -> last FailedScheduling message
        # unschedulable until pods are placed elsewhere: podAffinity, topology spread skew
        self._awaiting_pods: set[str] = set()
        self._slots = asyncio.Semaphore(max_inflight)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._events: asyncio.Queue[tuple[Obj, str, str, str]] = asyncio.Queue(maxsize=EVENT_BACKLOG)
        self._pending_index = f"pending:{scheduler_name}"
        pods.add_index(self._pending_index, self._pending_class)  # start-up reads only these
        pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        nodes.add_handler(self._node_changed, lambda _old, new: self._node_changed(new), self._node_deleted)
        self._awaiting_claims: dict[str, str] = {}  # claim key -> the pod waiting for it to be bound
        if volumes is not None:  # a volume made may make a waiting pod schedulable
            volumes.add_handler(
                lambda _o: self.queue.request_move(), lambda _o, _n: self.queue.request_move()
            )
        if claims is not None:
            claims.add_handler(self._claim_changed, lambda _old, new: self._claim_changed(new))

    # --- handlers (informer loops; no awaiting) -------------------------------------------------

    def _pending_class(self, pod: Obj) -> str | None:
        return PENDING if is_pending(pod, self.scheduler_name) else None

    def _pod_added(self, pod: Obj) -> None:
        self._pod_changed(None, pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        self._pod_changed(old, new)

    def _pod_changed(self, old: Obj | None, pod: Obj) -> None:
        key = pod_key(pod)
        if is_bound(pod):
            if self._awaiting_pods and (old is None or not is_bound(old)):
                self._retry_awaiting()  # a pod placed: one that wants to be near it may fit now
            self.cache.add_pod(pod)  # accounts, confirms an assumption, or releases a finished pod
            self.queue.remove(key)
            self._reported.pop(key, None)
            if is_terminal(pod) and (old is None or not is_terminal(old)):
                self.queue.request_move()
            return
        if not is_pending(pod, self.scheduler_name):
            self.queue.remove(key)
            return
        if key in self.queue.unschedulable and old is not None and not _may_help(old, pod):
            return  # e.g. our own Unschedulable status write
        self.queue.add(key)

    def _claim_changed(self, claim: Obj) -> None:
        meta = claim.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        pod = self._awaiting_claims.get(key)
        if pod is not None and (claim.get("spec") or {}).get("volumeName"):
            del self._awaiting_claims[key]
            self._requeue(pod)
        self.queue.request_move()

    def _retry_awaiting(self) -> None:
        """Back to the active queue: the pods that failed for want of pods placed elsewhere (near
        them, or in other domains), as kube-scheduler requeues them on an assigned pod's add."""
        for key in self._awaiting_pods:
            if key in self.queue.unschedulable:
                self.queue.add(key)
        self._awaiting_pods.clear()

    def _pod_deleted(self, pod: Obj) -> None:
        key = pod_key(pod)
        held = key in self.cache.pods
        self.cache.remove_pod(key)
        self.queue.remove(key)
        self._reported.pop(key, None)
        if held:
            self.queue.request_move()

    def _node_changed(self, node: Obj) -> None:
        if self.cache.set_node(node):
            self.queue.request_move()

    def _node_deleted(self, node: Obj) -> None:
        self.cache.remove_node(str((node.get("metadata") or {}).get("name")))

    # --- the leader's loop ----------------------------------------------------------------------

    async def run(self) -> None:
        await self.nodes.wait_synced()
        await self.pods.wait_synced()
        for informer in (self.claims, self.volumes, self.classes):
            if informer is not None:
                await informer.wait_synced()
        for pod in self.pods.by_index(self._pending_index, PENDING):
            if not self.cache.is_assumed(pod_key(pod)):
                self.queue.add(pod_key(pod))
        log.info("scheduler.started", nodes=self.cache.num_nodes, pending=len(self.queue))
        recorder = guarded_task("scheduler:events", self._record_events())
        try:
            while True:
                await self.queue.wait()
                if len(self.queue) < self.batch_size and self.linger > 0:
                    await asyncio.sleep(self.linger)  # let a burst of arrivals make one batch
                await self.schedule_batch(self.queue.pop_batch(self.batch_size))
                self.queue.move_due()
                await asyncio.sleep(0)  # let the informers deliver between batches
        finally:
            recorder.cancel()
            await asyncio.gather(recorder, return_exceptions=True)
            await self._stop()

    async def _stop(self) -> None:
        tasks = list(self._tasks)  # binders and reporters
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for key, rec in list(self.cache.pods.items()):
            if rec.assumed:
                self.cache.forget(key)
                self.queue.add(key)
        log.info("scheduler.stopped", **self.stats)

    async def schedule_batch(self, keys: list[str]) -> None:
        """Decide ``keys`` now; their binds and reports go out on background tasks."""
        now = now_rfc3339()
        started = time.perf_counter()
        binds: list[tuple[Obj, Obj]] = []
        failed: list[tuple[Obj, str]] = []
        for key in keys:
            pod = self.pods.get(key)
            if pod is None or not is_pending(pod, self.scheduler_name) or self.cache.is_assumed(key):
                continue
            check = self._check_claims(pod)
            if check is not None and check.error is not None:
                message = f"0/{self.cache.num_nodes} nodes are available: {check.error}."
                self.queue.mark_unschedulable(key, message)
                failed.append((pod, message))
                continue
            subject = with_volume_affinity(pod, check.terms) if check is not None else pod
            if check is not None and check.delayed:
                # Kubernetes' PreBind: choose the node, have the claims provisioned there, bind the
                # pod once they are bound (the claims' events requeue it; a timer in case they never are)
                decision = self.scheduler.decide(subject)
                if decision.node_name is not None:
                    for namespace, name in check.delayed:
                        self._awaiting_claims[f"{namespace}/{name}"] = key
                    await self._spawn(
                        "scheduler:claims", self._select_node(check.delayed, decision.node_name)
                    )
                    asyncio.get_running_loop().call_later(CLAIM_RETRY, self._requeue, key)
                    continue
            else:
                decision = self.scheduler.schedule(subject)
            if decision.node_name is not None:
                binds.append((bound_pod(pod, decision.node_name, now), pod))
            else:
                message = decision.message
                self.queue.mark_unschedulable(key, message)
                if POD_AFFINITY in message or SPREAD_SKEW in message:
                    self._awaiting_pods.add(key)
                failed.append((pod, message))
        if binds or failed:
            SCHEDULE_BATCH.observe(time.perf_counter() - started)
        if binds:
            # read now: the informer may see a bind (and drop the key) before its ack is handled
            entered = {pod_key(new): self.queue.entered(pod_key(new)) for new, _old in binds}
            await self._spawn("scheduler:bind", self._bind(binds, entered))
        if failed:
            self.stats["unschedulable"] += len(failed)
            SCHEDULE_ATTEMPTS.labels("unschedulable").inc(len(failed))
            await self._spawn("scheduler:report", self._report(failed, now))

    def _check_claims(self, pod: Obj) -> ClaimCheck | None:
        """What the pod's claims demand (None: it has none, or no claim informers here)."""
        if self.claims is None or not claim_names(pod):
            return None
        volumes, classes = self.volumes, self.classes
        return check_claims(
            pod,
            self.claims.get,
            volumes.get if volumes is not None else lambda _n: None,
            classes.get if classes is not None else lambda _n: None,
        )

    async def _select_node(self, claims: list[tuple[str, str]], node: str) -> None:
        """Write the chosen node on each delayed claim (compare-and-set, re-read on Conflict)."""
        for namespace, name in claims:
            for _attempt in range(5):
                try:
                    claim = await self.store.get("persistentvolumeclaims", namespace, name)
                    new = select_node(claim, node)
                    if new is not None:
                        await self._fenced(
                            lambda new=new, claim=claim: self.store.update(
                                "persistentvolumeclaims", new, old=claim
                            )
                        )
                    break
                except LeaseLost:
                    self.stats["fenced"] += 1
                    log.warning("scheduler.select_node_fenced", claim=f"{namespace}/{name}")
                    return
                except Conflict:
                    continue
                except NotFound:
                    break
                except JetkubeError as err:
                    log.warning("scheduler.select_node_failed", claim=f"{namespace}/{name}", error=str(err))
                    break

    async def _spawn(self, name: str, coro: Any) -> None:
        await self._slots.acquire()
        task = guarded_task(name, coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _event(self, pod: Obj, type_: str, reason: str, message: str) -> None:
        """Queue an Event for the recorder task: events never hold up binding."""
        if self.recorder is None:
            return
        try:
            self._events.put_nowait((pod, type_, reason, message))
        except asyncio.QueueFull:
            self.stats["events_dropped"] += 1

    async def _record_events(self) -> None:
        while True:
            pod, type_, reason, message = await self._events.get()
            if self.recorder is not None:
                await self.recorder.record(pod, type_, reason, message)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _bind(
        self, pairs: list[tuple[Obj, Obj]], entered: dict[str, float | None] | None = None
    ) -> None:
        started = time.perf_counter()
        refused: LeaseLost | None = None
        try:
            results: list[Any] = await self._fenced(lambda: self.store.update_batch("pods", pairs))
        except LeaseLost as err:
            refused = err
            results = [err] * len(pairs)
        except JetkubeError as err:
            results = [err] * len(pairs)
        BINDING_LATENCY.observe(time.perf_counter() - started)
        loop = asyncio.get_running_loop()
        freed = False
        bound: list[Obj] = []
        for (new, _old), result in zip(pairs, results, strict=True):
            if not isinstance(result, JetkubeError):
                self.stats["bound"] += 1
                bound.append(result)
                since = (entered or {}).get(pod_key(new))
                if since is not None:
                    POD_SCHEDULING_DURATION.observe(max(0.0, self.queue.clock() - since))
                continue
            key = pod_key(new)
            self.cache.forget(key)
            freed = True
            if isinstance(result, Conflict | NotFound):
                self.stats["conflicts"] += 1
                loop.call_later(CONFLICT_RETRY, self._requeue, key)
            elif isinstance(result, LeaseLost):
                self.stats["fenced"] += 1  # the elector stops this loop soon; a new leader binds it
                loop.call_later(ERROR_RETRY, self._requeue, key)
            else:
                self.stats["bind_errors"] += 1
                log.warning("scheduler.bind_failed", pod=key, node=new["spec"]["nodeName"], error=str(result))
                loop.call_later(ERROR_RETRY, self._requeue, key)
        if refused is not None:
            log.warning("scheduler.binds_fenced", pods=len(pairs), error=str(refused))
        if bound:
            SCHEDULE_ATTEMPTS.labels("scheduled").inc(len(bound))
        if len(bound) < len(pairs):
            SCHEDULE_ATTEMPTS.labels("error").inc(len(pairs) - len(bound))
        if freed:
            self.queue.request_move()
        if self.scheduled_events:
            for pod in bound:
                where = f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"
                self._event(
                    pod, "Normal", "Scheduled", f"Successfully assigned {where} to {pod['spec']['nodeName']}"
                )

    def _requeue(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is not None and is_pending(pod, self.scheduler_name):
            self.queue.add(key)

    async def _fenced(self, write: Callable[[], Awaitable[T]]) -> T:
        """``write()`` only while the lease is ours (:class:`LeaseLost` otherwise, nothing written):
        by our own clock (renewed within the renew deadline), then by the lease as stored (its
        holder and epoch still ours), as the api checks a controller's writes; the scheduler writes
        to the store itself, not through the api. With ``JETKUBE_ATOMIC_FENCE=1`` the check and the
        write are one atomic batch (actors/runtime/fencecheck.py)."""
        token = self.fence.token()
        if token is None:  # not under a lease (tests, benchmarks)
            return await write()
        return await fenced_write(self.store, token, write)

    async def _report(self, failed: list[tuple[Obj, str]], now: str) -> None:
        writes = [(new, pod) for pod, msg in failed if (new := unschedulable_pod(pod, msg, now)) is not None]

        try:
            if writes:
                results = await self._fenced(lambda: self.store.update_batch("pods", writes))
            else:
                self.fence.token()  # events only: our own clock is check enough (no store read)
        except LeaseLost as err:  # no status write, no event: those are a leader's
            self.stats["fenced"] += len(writes)
            log.warning("scheduler.status_fenced", pods=len(writes), error=str(err))
            return
        if writes:
            for (new, _), result in zip(writes, results, strict=True):
                if isinstance(result, JetkubeError) and not isinstance(result, Conflict | NotFound):
                    log.warning("scheduler.status_failed", pod=pod_key(new), error=str(result))
        for pod, message in failed:
            key = pod_key(pod)
            if self._reported.get(key) == message:
                continue
            self._reported[key] = message
            log.info("scheduler.unschedulable", pod=key, message=message)
            self._event(pod, "Warning", "FailedScheduling", message)


async def run_scheduler(
    bus: Any,
    store: Any,
    *,
    identity: str,
    informers: SharedInformers | None = None,
    supervisor: Supervisor | None = None,
    lease_duration: float = 15.0,
    renew_deadline: float = 10.0,
    retry_period: float = 2.0,
    **options: Any,
) -> None:
    """Run the scheduler as a leader-elected singleton until cancelled.

    ``informers``: the process's SharedInformers (their pods/nodes informers are used and, when
    ``supervisor`` is given, started under it); without them the scheduler lists and watches the
    store itself. ``options`` go to :class:`SchedulerActor` (batch_size, max_inflight, ...).
    """
    from bus.events import EventRecorder

    own_supervisor = supervisor is None
    sup = supervisor or Supervisor("scheduler")
    if informers is None:
        informers = SharedInformers(StoreListWatcher(store))
    actor = SchedulerActor(
        store,
        pods=informers.informer("pods"),
        nodes=informers.informer("nodes"),
        recorder=options.pop("recorder", None) or EventRecorder(bus, component=DEFAULT_SCHEDULER),
        **options,
    )
    informers.start(sup)
    elector = LeaderElector(
        StoreLeaseBackend(store),
        LEASE_NAME,
        identity,
        lease_duration=lease_duration,
        renew_deadline=renew_deadline,
        retry_period=retry_period,
    )
    actor.fence.bind(elector)  # every bind and status write is fenced by the lease
    try:
        await elector.run(actor.run)
    finally:
        if own_supervisor:
            with contextlib.suppress(Exception):
                await sup.stop()
