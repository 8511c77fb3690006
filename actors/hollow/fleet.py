"""A fleet of hollow kubelets in one process: register, heartbeat, run and delete their pods.

Agents (each supervised, named ``hollow.*``):

* ``hollow.router`` subscribes to the node relay and routes each message to the hollow node it is
  addressed to. By default it is **one wildcard subscription** ``jetkube.nodepods.*`` (NATS
  wildcards match whole tokens, so a ``<prefix>*`` pattern is not possible): the server delivers
  each relayed message once, exactly as it would to a per-node subscription, and the router finds
  the node by the subject's last token in a dict. That is one subscription instead of N (nats-py
  keeps a task and a queue per subscription); messages for nodes outside the fleet are counted as
  ``foreign`` and dropped. ``per_node_subscriptions=True`` subscribes ``jetkube.nodepods.<node>``
  once per node instead, as N real kubelets would. Either way each node's message count is what
  the relay sent *it*, the figure the fan-out benchmark reports against the pods it ran.
* ``hollow.register`` (one-shot) creates each Node through the api (or, if it exists, takes it
  over with a fresh Ready status), then lists each node's pods (``jetkube.api.nodepods``) after
  the subscription is in place, so nothing falls between; ``ready()`` returns once that is done.
* ``hollow.heartbeat`` renews every node's Lease (``kube-node-lease/<node>``, created at
  registration) once per ``heartbeat_interval``, spread over it in 100 ms ticks, as one pipelined
  batch of compare-and-set writes per tick (``Store.update_batch``: 5,000 nodes at 10 s is 50 small
  writes every tick); ``heartbeat_via="api"`` sends one ``update`` per node instead. A node's
  Node status (its conditions' heartbeat) is rewritten only every ``status_report_interval``
  (5 min), as a kubelet whose status did not change does (actors/kubelet/node_lease.py). A
  Conflict (someone else changed the object, e.g. a taint) re-reads it and the next beat goes on.
* ``hollow.kubelets`` run **the kubelet's own pod sync** (actors/kubelet/sync.py: the planner,
  its executor, the status writes, probes, deletion) for every node, over one in-memory
  :class:`~actors.kubelet.fake_runtime.FakeRuntime` per node. The syncers share one work queue
  (keys ``<node>/<namespace>/<name>``) and ``workers`` workers; each relayed change of a pod queues
  its key, as the kubelet's informer handler does, and a fake container's death (a ``die`` event)
  queues it too. ``startup_delay`` seconds pass between a pod's bind and its first sync (the
  created-and-bound benchmark keeps pods unstarted with a long one); with ``failure_rate`` that
  fraction of containers exit 1 at once, and the pod goes the way its restartPolicy says.

The Services a container's environment needs come from one services informer shared by the fleet,
not from an api list per container start as a kubelet does.
What a hollow node does not do that a real one does: no events are recorded (``record_events``),
no periodic re-sync of every pod, no Node status from a NodeAgent (the heartbeat above writes it).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats.errors
import structlog

from actors.hollow.objects import heartbeat, hollow_node, node_ip, pod_cidr_base, pod_key, pod_uid
from actors.kubelet.context import KubeletContext
from actors.kubelet.fake_runtime import Behaviour, FakeRuntime, behaviour_of
from actors.kubelet.handlers import close_http
from actors.kubelet.labels import POD_NAME, POD_NAMESPACE
from actors.kubelet.node_lease import NAMESPACE as LEASE_NAMESPACE
from actors.kubelet.node_lease import STATUS_REPORT_INTERVAL, lease_object, renewed
from actors.kubelet.sync import PodSyncer
from actors.kubelet.types import RuntimeEvent
from actors.runtime.informer import Informer
from actors.runtime.listwatch import StoreListWatcher
from actors.runtime.supervisor import Supervisor
from actors.runtime.workqueue import WorkQueue, run_workers
from bus.cancelsafe import wait_for
from bus.client import NODEPODS_PREFIX, ApiClient
from bus.codec import decode
from bus.connection import Bus
from bus.events import EventRecorder
from bus.store import Store
from schemas.errors import AlreadyExists, Conflict, JetkubeError, NotFound

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
TICK = 0.1
LIST_CONCURRENCY = 32


@dataclass
class HollowSettings:
    count: int
    prefix: str = "hollow-"
    startup_delay: float = 0.0
    failure_rate: float = 0.0
    heartbeat_interval: float = 10.0
    capacity: dict[str, str] | None = None
    workers: int = 32
    per_node_subscriptions: bool = False
    heartbeat_via: str = "store"  # or "api"
    status_report_interval: float = STATUS_REPORT_INTERVAL
    start_index: int = 0
    seed: int | None = None
    record_events: bool = False


@dataclass
class HollowNode:
    """One simulated kubelet's state: its Node as last written and the pods bound to it."""

    name: str
    index: int
    node: Obj | None = None
    lease: Obj | None = None
    status_at: float = 0.0  # loop time of the last Node status write
    pods: dict[str, Obj] = field(default_factory=dict)
    revisions: dict[str, int] = field(default_factory=dict)
    admitted: set[str] = field(default_factory=set)  # uids whose startup delay has passed
    counted: dict[str, str] = field(default_factory=dict)  # uid -> the phase counted for it
    received: int = 0  # relay messages addressed to this node
    pods_seen: set[str] = field(default_factory=set)  # uids of every pod ever bound here
    runtime: FakeRuntime | None = None
    syncer: PodSyncer | None = None

    def desired(self, key: str) -> Obj | None:
        """The kubelet's view of the pod: bound here, and past its startup delay (or deleting)."""
        pod = self.pods.get(key)
        if pod is None:
            return None
        if pod_uid(pod) in self.admitted or (pod.get("metadata") or {}).get("deletionTimestamp"):
            return pod
        return None

    @property
    def ip(self) -> str:
        return node_ip(self.index)


class HollowFleet:
    def __init__(self, bus: Bus, settings: HollowSettings, *, api: ApiClient | None = None) -> None:
        self.bus = bus
        self.settings = settings
        self.api = api or ApiClient(bus)
        self.store = Store(bus)
        self.nodes: dict[str, HollowNode] = {}
        for i in range(settings.count):
            index = settings.start_index + i
            name = f"{settings.prefix}{index}"
            self.nodes[name] = HollowNode(name, index)
        self.rng = random.Random(settings.seed)
        self.queue = WorkQueue("hollow", base_delay=0.2, max_delay=30.0)
        recorder = EventRecorder(bus, component="kubelet", host="hollow") if settings.record_events else None
        self.services = Informer(StoreListWatcher(self.store), "services")
        for node in self.nodes.values():
            self._wire(node, recorder)
        self.subscribed = asyncio.Event()
        self.registered = asyncio.Event()
        self.foreign = 0
        self.counters: dict[str, int] = {
            "heartbeats": 0,
            "status_writes": 0,
            "heartbeat_conflicts": 0,
            "heartbeat_errors": 0,
            "running": 0,
            "failed": 0,
            "deleted": 0,
            "status_errors": 0,
        }

    # ------------------------------------------------------------------ wiring

    def _wire(self, node: HollowNode, recorder: EventRecorder | None) -> None:
        """The node's kubelet: the real pod sync over a fake runtime, feeding the shared queue."""
        name = node.name
        rt = FakeRuntime(behaviour=self._behaviour, pod_cidr=pod_cidr_base(node.index))
        ctx = KubeletContext(
            runtime=rt,
            api=self.api,
            recorder=recorder,
            node_name=name,
            host_ip=node.ip,
            enqueue=lambda key: self.queue.add(f"{name}/{key}"),
            enqueue_after=lambda key, delay: self.queue.add_after(f"{name}/{key}", delay),
            services=self._services,
        )

        def on_event(ev: RuntimeEvent) -> None:
            if ev.action == "die":
                ctx.enqueue(f"{ev.labels.get(POD_NAMESPACE)}/{ev.labels.get(POD_NAME)}")

        rt.on_event = on_event
        node.runtime = rt
        node.syncer = PodSyncer(ctx, node.desired, lambda key: False)

    @property
    def _store_readable(self) -> bool:
        """A fleet under its own identity (``heartbeat_via="api"``: the ``hollow-nodes`` user) may
        not read the store directly; it asks the api, as a kubelet does."""
        return self.settings.heartbeat_via != "api"

    async def _services(self, namespace: str) -> list[Obj]:
        """The Services for the service env variables, from the fleet's one services informer (a
        kubelet lists them from the api; thousands of nodes share this cache instead)."""
        if not self._store_readable:
            items = list((await self.api.list("services", namespace))["items"])
            if namespace != "default":
                items += [
                    s
                    for s in (await self.api.list("services", "default"))["items"]
                    if s["metadata"]["name"] == "kubernetes"
                ]
            return items
        return [
            s
            for s in self.services.list()
            if (m := s.get("metadata") or {}).get("namespace") == namespace
            or (m.get("namespace") == "default" and m.get("name") == "kubernetes")
        ]

    def _behaviour(self, container: Any) -> Behaviour:
        if self.settings.failure_rate > 0 and self.rng.random() < self.settings.failure_rate:
            return Behaviour(0.0, 1)
        return behaviour_of(container)

    def start(self, sup: Supervisor) -> None:
        sup.spawn("hollow.router", self.run_router)
        sup.spawn("hollow.register", self.run_register, restart=False)
        sup.spawn("hollow.heartbeat", self.run_heartbeat)
        if self._store_readable:
            sup.spawn("hollow.services", self.services.run)
        sup.spawn("hollow.kubelets", self.run_kubelets)

    async def ready(self, timeout: float = 120.0) -> None:
        """Wait until every node is registered and has listed its pods."""
        await wait_for(self.registered.wait(), timeout)

    def stats(self) -> dict[str, Any]:
        return {
            "nodes": len(self.nodes),
            "registered": sum(1 for n in self.nodes.values() if n.node is not None),
            "pods": sum(len(n.pods) for n in self.nodes.values()),
            "messages": sum(n.received for n in self.nodes.values()),
            "foreign_messages": self.foreign,
            **self.counters,
        }

    def fanout(self) -> list[tuple[str, int, int]]:
        """(node, relay messages it received, distinct pods ever bound to it) for every node."""
        return [(n.name, n.received, len(n.pods_seen)) for n in self.nodes.values()]

    # ------------------------------------------------------------------ router

    async def run_router(self) -> None:
        subs: list[Any] = []
        try:
            if self.settings.per_node_subscriptions:
                for name in self.nodes:
                    subs.append(await self.bus.nc.subscribe(f"{NODEPODS_PREFIX}.{name}", cb=self._on_msg))
            else:
                subs.append(await self.bus.nc.subscribe(f"{NODEPODS_PREFIX}.*", cb=self._on_msg))
            await self.bus.nc.flush()
            self.subscribed.set()
            await asyncio.Event().wait()
        finally:
            self.subscribed.clear()
            for sub in subs:
                try:
                    await sub.unsubscribe()
                except nats.errors.Error:
                    pass

    async def _on_msg(self, msg: Any) -> None:
        node = self.nodes.get(msg.subject[len(NODEPODS_PREFIX) + 1 :])
        if node is None:
            self.foreign += 1
            return
        node.received += 1
        data = decode(msg.data)
        self.apply(node, data["type"], data["object"])

    def apply(self, node: HollowNode, type_: str, pod: Obj) -> None:
        """One change of a pod bound to ``node`` (from the relay or the initial list)."""
        key = pod_key(pod)
        rv = int((pod.get("metadata") or {}).get("resourceVersion") or 0)
        if rv and rv <= node.revisions.get(key, 0):
            return  # a repeat or an older state
        node.revisions[key] = rv
        uid = pod_uid(pod)
        if type_ == "DELETED":
            node.pods.pop(key, None)
            node.admitted.discard(uid)
            if len(node.revisions) > 4 * max(16, len(node.pods)):
                node.revisions = {k: node.revisions[k] for k in node.pods}
                live = {pod_uid(p) for p in node.pods.values()}
                node.counted = {u: v for u, v in node.counted.items() if u in live}
            self.queue.add(f"{node.name}/{key}")
            return
        node.pods[key] = pod
        node.pods_seen.add(uid)
        if uid not in node.admitted and not (pod.get("metadata") or {}).get("deletionTimestamp"):
            if self.settings.startup_delay > 0:
                asyncio.get_running_loop().call_later(
                    self.settings.startup_delay, self._admit, node, key, uid
                )
                return
            node.admitted.add(uid)
        self.queue.add(f"{node.name}/{key}")

    def _admit(self, node: HollowNode, key: str, uid: str) -> None:
        pod = node.pods.get(key)
        if pod is not None and pod_uid(pod) == uid:
            node.admitted.add(uid)
            self.queue.add(f"{node.name}/{key}")

    # ---------------------------------------------------------------- register

    async def run_register(self) -> None:
        await self.subscribed.wait()
        sem = asyncio.Semaphore(LIST_CONCURRENCY)
        t0 = time.perf_counter()

        async def register(node: HollowNode) -> None:
            async with sem:
                node.node = await self._register_one(node)
                node.status_at = asyncio.get_running_loop().time()
                node.lease = await self._lease_one(node)

        await asyncio.gather(*(register(n) for n in self.nodes.values()))
        t1 = time.perf_counter()

        async def adopt(node: HollowNode) -> None:
            async with sem:
                listing = await self.api.pods_on_node(node.name)
                for pod in listing.get("items") or []:
                    self.apply(node, "ADDED", pod)

        await asyncio.gather(*(adopt(n) for n in self.nodes.values()))
        self.registered.set()
        log.info(
            "hollow.registered",
            nodes=len(self.nodes),
            register_s=round(t1 - t0, 2),
            list_s=round(time.perf_counter() - t1, 2),
        )

    async def _register_one(self, node: HollowNode) -> Obj:
        desired = hollow_node(node.name, node.index, self.settings.capacity)
        for _attempt in range(5):
            try:
                return await self.api.create("nodes", desired)
            except AlreadyExists:
                pass
            try:
                current = await self.api.get("nodes", node.name)
                current = dict(current)
                current["status"] = desired["status"]
                return await self.api.update_status("nodes", current)
            except (Conflict, NotFound):
                continue
        raise Conflict(f'nodes "{node.name}" kept changing while registering')

    async def _lease_one(self, node: HollowNode) -> Obj:
        fresh = lease_object(node.node or node.name, datetime.now(UTC))
        try:
            return await self.api.create("leases", fresh)
        except AlreadyExists:
            return renewed(await self.api.get("leases", node.name, LEASE_NAMESPACE), datetime.now(UTC))

    # --------------------------------------------------------------- heartbeat

    async def run_heartbeat(self) -> None:
        await self.registered.wait()
        interval = max(self.settings.heartbeat_interval, TICK)
        slots = max(1, round(interval / TICK))
        by_slot: list[list[HollowNode]] = [[] for _ in range(slots)]
        for i, node in enumerate(self.nodes.values()):
            by_slot[i % slots].append(node)
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        slot = 0
        while True:
            next_tick += interval / slots
            due = [n for n in by_slot[slot] if n.node is not None]
            slot = (slot + 1) % slots
            if due:
                await self._beat(due)
            await asyncio.sleep(max(0.0, next_tick - loop.time()))

    async def _beat(self, due: list[HollowNode]) -> None:
        now = datetime.now(UTC)
        results: list[Obj | JetkubeError]
        if self.settings.heartbeat_via == "api":
            results = list(
                await asyncio.gather(
                    *(self.api.update("leases", renewed(n.lease or {}, now)) for n in due),
                    return_exceptions=True,
                )
            )
        else:
            pairs = [(renewed(n.lease or {}, now), n.lease or {}) for n in due]
            results = await self.store.update_batch("leases", pairs)
        for node, result in zip(due, results, strict=True):
            if isinstance(result, dict):
                node.lease = result
                self.counters["heartbeats"] += 1
            elif isinstance(result, Conflict | NotFound):
                self.counters["heartbeat_conflicts"] += 1
                try:
                    node.lease = await self._lease_one(node)
                except JetkubeError as err:
                    log.warning("hollow.lease_reread_failed", node=node.name, error=str(err))
            else:
                self.counters["heartbeat_errors"] += 1
                log.warning("hollow.heartbeat_failed", node=node.name, error=str(result))
        loop_now = asyncio.get_running_loop().time()
        stale = [n for n in due if loop_now - n.status_at >= self.settings.status_report_interval]
        if stale:
            await self._report_status(stale, loop_now)

    async def _report_status(self, due: list[HollowNode], loop_now: float) -> None:
        """The Node status of nodes that wrote none for ``status_report_interval``."""
        pairs = [(heartbeat(n.node or {}), n.node or {}) for n in due]
        results = await self.store.update_batch("nodes", pairs)
        for node, result in zip(due, results, strict=True):
            if isinstance(result, dict):
                node.node = result
                node.status_at = loop_now
                self.counters["status_writes"] += 1
            elif isinstance(result, Conflict):
                try:
                    node.node = await self.store.get("nodes", None, node.name)
                except NotFound:
                    node.node = await self._register_one(node)
                except JetkubeError as err:
                    log.warning("hollow.status_reread_failed", node=node.name, error=str(err))
            else:
                log.warning("hollow.status_failed", node=node.name, error=str(result))

    # ------------------------------------------------------------------- pods

    async def run_kubelets(self) -> None:
        await self.registered.wait()
        if self._store_readable:
            await self.services.wait_synced()
        try:
            await run_workers(self.queue, self._sync, self.settings.workers, name="hollow")
        finally:
            for node in self.nodes.values():
                if node.syncer is not None:
                    node.syncer.prober.stop_all()
            await close_http()

    async def _sync(self, qkey: str) -> None:
        name, _, key = qkey.partition("/")
        node = self.nodes[name]
        assert node.syncer is not None
        before = node.pods.get(key)
        try:
            await node.syncer.sync(key)
        except JetkubeError:
            self.counters["status_errors"] += 1
            raise
        self._count(node, key, before)

    def _count(self, node: HollowNode, key: str, before: Obj | None) -> None:
        """The fleet's counters: pods first reported Running or Failed, and pods deleted."""
        if before is None:
            return
        uid = pod_uid(before)
        if (before.get("metadata") or {}).get("deletionTimestamp"):
            if node.counted.get(uid) != "deleted" and node.syncer and key not in node.syncer.statuses:
                node.counted[uid] = "deleted"
                self.counters["deleted"] += 1
            return
        status = node.syncer.statuses.get(key) if node.syncer else None
        phase = str((status or {}).get("phase") or "")
        if phase in ("Running", "Failed") and uid not in node.counted:
            node.counted[uid] = phase
            self.counters[phase.lower()] += 1
