"""The kubelet actor: one node's pods on one Docker engine.

Agents (each a named, supervised task; see :meth:`Kubelet.start`):

- ``kubelet:<node>:node``: registers the Node and heartbeats its Ready condition (node.py);
- ``kubelet:<node>:pods``: an informer over only this node's pods (``NodePodsListWatcher``, fed by
  the api's per-node relay, so the kubelet's cost does not grow with the cluster); its handlers
  only enqueue the pod's key;
- ``kubelet:<node>:workers``: the per-pod workers draining the work queue through
  :meth:`PodSyncer.sync` (the queue never hands one key to two workers: a pod is never synced
  twice at once);
- ``kubelet:<node>:events``: the engine's container events for this node (die, oom, start,
  destroy): a container's death is seen at once, not at the next poll;
- ``kubelet:<node>:housekeeping``: every ``resync_period`` seconds every pod is synced again
  (ConfigMap/Secret volume refresh, missed events) and the engine is swept for containers of pods
  that no longer exist (deleted while the kubelet was down, too), which are stopped and removed.

Static pods: :meth:`Kubelet.set_static_pods` gives the pods to run besides the api's (key
``ns/name``; a pod in the api marked as a mirror, annotation ``kubernetes.io/config.mirror``, is
never run from the api). Their status is not written to the api by the kubelet: it is kept
(:meth:`Kubelet.pod_status`) and handed to :attr:`Kubelet.on_pod_status` when it changes, for
whoever posts the mirror pods.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from actors.kubelet import labels as L
from actors.kubelet.context import KubeletContext
from actors.kubelet.cri import ContainerRuntime
from actors.kubelet.handlers import close_http
from actors.kubelet.node import NodeAgent
from actors.kubelet.sync import PodSyncer
from actors.runtime.backoff import Backoff
from actors.runtime.cache import key_of
from actors.runtime.informer import Informer
from actors.runtime.listwatch import NodePodsListWatcher
from actors.runtime.supervisor import Supervisor
from actors.runtime.workqueue import WorkQueue, run_workers
from bus.events import EventRecorder
from schemas.errors import JetkubeError

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def static_uid(node_name: str, key: str, pod: Obj) -> str:
    """A stable uid for a static pod without one: a hash of the node, key and spec."""
    digest = hashlib.sha256(
        json.dumps([node_name, key, pod.get("spec")], sort_keys=True, default=str).encode()
    ).hexdigest()
    return str(uuid.UUID(digest[:32]))


class Kubelet:
    def __init__(
        self,
        bus: Any,
        api: Any,
        runtime: ContainerRuntime,
        node_name: str,
        *,
        host_ip: str = "127.0.0.1",
        node_labels: dict[str, str] | None = None,
        heartbeat_interval: float = 10.0,
        resync_period: float = 10.0,
        workers: int = 16,
        record_events: bool = True,
        gc_policy: dict[str, Any] | None = None,
    ) -> None:
        self.bus = bus
        self.api = api
        self.runtime = runtime
        self.node_name = node_name
        self.resync_period = resync_period
        self.n_workers = workers
        self.gc_policy = dict(gc_policy or {})
        self.queue = WorkQueue(f"kubelet:{node_name}", base_delay=0.2, max_delay=30.0)
        recorder = EventRecorder(bus, component="kubelet", host=node_name) if record_events and bus else None
        self.ctx = KubeletContext(
            runtime=runtime,
            api=api,
            recorder=recorder,
            node_name=node_name,
            host_ip=host_ip,
            enqueue=self.queue.add,
            enqueue_after=self.queue.add_after,
        )
        self.informer = Informer(NodePodsListWatcher(api, node_name), "pods", watch_list=True)
        self.informer.add_handler(
            on_add=self._on_pod, on_update=lambda _o, n: self._on_pod(n), on_delete=self._on_pod
        )
        self.static: dict[str, Obj] = {}
        self.syncer = PodSyncer(self.ctx, self.desired, self.is_static)
        self.node = NodeAgent(self.ctx, node_labels, heartbeat_interval)
        self.network_agent: Any = None  # --pod-network flannel: the actors.flannel agent

    # ------------------------------------------------------------------ the other helpers' surface

    @property
    def on_pod_status(self) -> Callable[[Obj, Obj], Awaitable[None]] | None:
        """Called with (static pod, its new status) whenever a static pod's status changes."""
        return self.syncer.on_pod_status

    @on_pod_status.setter
    def on_pod_status(self, hook: Callable[[Obj, Obj], Awaitable[None]] | None) -> None:
        self.syncer.on_pod_status = hook

    def set_static_pods(self, pods: dict[str, Obj]) -> None:
        """The static pods to run (key ``ns/name`` -> pod); those dropped are stopped and removed."""
        fresh: dict[str, Obj] = {}
        for key, pod in pods.items():
            p = dict(pod)
            meta = dict(p.get("metadata") or {})
            ns, _, name = key.partition("/")
            meta.setdefault("namespace", ns or "default")
            meta.setdefault("name", name)
            if not meta.get("uid"):
                meta["uid"] = static_uid(self.node_name, key, p)
            p["metadata"] = meta
            p["spec"] = {**(p.get("spec") or {}), "nodeName": self.node_name}
            fresh[key] = p
        changed = set(self.static) ^ set(fresh) | {k for k in fresh if self.static.get(k) != fresh[k]}
        self.static = fresh
        for key in changed:
            self.queue.add(key)

    def pod_status(self, key: str) -> Obj | None:
        """The last status computed for the pod (static or not), or None."""
        return self.syncer.statuses.get(key)

    def active_pod_uids(self) -> set[str] | None:
        """The uids of the pods this kubelet runs (None until its pod list has synced)."""
        if not self.informer.synced:
            return None
        uids = {str(p["metadata"].get("uid")) for p in self.static.values()}
        for key in self.informer.keys():
            pod = self.desired(key)
            if pod is not None:
                uids.add(str(pod["metadata"].get("uid")))
        return uids

    def is_static(self, key: str) -> bool:
        return key in self.static

    def desired(self, key: str) -> Obj | None:
        if key in self.static:
            return self.static[key]
        pod = self.informer.get(key)
        if pod is None:
            return None
        if MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {}):
            return None
        if (pod.get("spec") or {}).get("nodeName") != self.node_name:
            return None
        return pod

    def _on_pod(self, pod: Obj) -> None:
        self.queue.add(key_of(pod))

    # ------------------------------------------------------------------ agents

    def start(self, sup: Supervisor) -> None:
        n = self.node_name
        sup.spawn(f"kubelet:{n}:node", self.node.run)
        sup.spawn(f"kubelet:{n}:pods", self.informer.run)
        sup.spawn(f"kubelet:{n}:workers", self._workers)
        sup.spawn(f"kubelet:{n}:events", self._events)
        sup.spawn(f"kubelet:{n}:housekeeping", self._housekeeping)

    async def _workers(self) -> None:
        await self.informer.wait_synced()
        try:
            await run_workers(self.queue, self.syncer.sync, self.n_workers, name=f"kubelet:{self.node_name}")
        finally:
            self.syncer.prober.stop_all()
            await close_http()

    async def _events(self) -> None:
        backoff = Backoff(0.2, 5.0)
        since: float | None = None
        while True:
            try:
                async for ev in self.runtime.events(self.node_name, since=since):
                    backoff.reset()
                    if ev.time is not None:
                        since = ev.time.timestamp()
                    ns = ev.labels.get(L.POD_NAMESPACE)
                    name = ev.labels.get(L.POD_NAME)
                    if ns and name:
                        self.queue.add(f"{ns}/{name}")
                raise JetkubeError("the engine's event stream ended")
            except JetkubeError as exc:
                delay = backoff.next()
                log.info("engine.events_lost", node=self.node_name, error=exc.message, retry_in=delay)
                await asyncio.sleep(delay)
                self.resync()

    def resync(self) -> None:
        for key in self.informer.keys():
            self.queue.add(key)
        for key in self.static:
            self.queue.add(key)

    async def housekeeping(self) -> None:
        """Queue every pod, and the keys of containers whose pod is gone (the sync removes them)."""
        self.resync()
        try:
            items = await self.runtime.list(self.node_name)
        except JetkubeError as exc:
            log.info("housekeeping.engine_unavailable", node=self.node_name, error=exc.message)
            return
        for s in items:
            key = f"{s.namespace}/{s.pod_name}"
            pod = self.desired(key)
            if pod is None or str(pod["metadata"].get("uid")) != s.pod_uid:
                self.queue.add(key)

    async def _housekeeping(self) -> None:
        await self.informer.wait_synced()
        while True:
            await self.housekeeping()
            await asyncio.sleep(self.resync_period)
