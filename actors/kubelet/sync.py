"""The pod sync: make the engine match one pod, then report what it sees (level-triggered).

:meth:`PodSyncer.sync` takes a pod key; the kubelet's work queue guarantees one sync per key at a
time. It reads the desired pod (the api's, or a static pod) and the engine's containers labelled
with that namespace/name, and:

1. no desired pod (deleted, also while the kubelet was down): stop and remove every container
   and sandbox of that key, tear down the volumes;
2. containers of another uid under the same name (a pod deleted and recreated): removed;
3. ``deletionTimestamp`` set: :meth:`terminate` (preStop, SIGTERM, grace, SIGKILL, remove),
   then the pod object is deleted with grace 0;
4. otherwise volumes (FailedMount and a back-off when one cannot be set up), the sandbox (created
   when none runs; a hostPort conflict is FailedCreatePodSandBox with the engine's message), the
   init containers in order, then the app containers: a missing one is started, a dead one
   restarted by the restart policy and the crash-loop back-off (restart.py);
5. the status (pod_status.py) is written when it changed, compare-and-set with a re-read on
   Conflict.

Adoption needs nothing special: containers are found by their labels (pod uid, container name,
attempt), so a restarted kubelet sees its running containers as running and starts nothing twice
(a create of an existing attempt is AlreadyExists and adopts that container).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from actors.dns.podconfig import pod_dns
from actors.kubelet import labels as L
from actors.kubelet.containers import ContainerRunner, grace_of, pod_key
from actors.kubelet.context import KubeletContext
from actors.kubelet.plan import Instance, Observed, PodActions, Sandbox, plan_pod, ready_of
from actors.kubelet.pod_status import ContainerView, compute_status, is_exited
from actors.kubelet.ports import pod_port_mappings
from actors.kubelet.prober import Prober
from actors.kubelet.types import ContainerState, ContainerSummary, SandboxInfo
from actors.kubelet.volume_files import MountError
from actors.kubelet.volumes import VolumeManager
from actors.metrics.instruments import CONTAINER_STARTS, POD_STARTS
from schemas.errors import AlreadyExists, Conflict, DockerError, JetkubeError, NotFound, ServiceUnavailable
from schemas.status import now_rfc3339

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
StatusHook = Callable[[Obj, Obj], Awaitable[None]]
ORPHAN_GRACE = 2.0


def _by_attempt(items: list[ContainerSummary]) -> list[ContainerSummary]:
    return sorted(items, key=lambda s: (s.attempt, s.created.timestamp() if s.created else 0))


class PodSyncer:
    def __init__(
        self,
        ctx: KubeletContext,
        desired: Callable[[str], Obj | None],
        is_static: Callable[[str], bool],
    ) -> None:
        self.ctx = ctx
        self.desired = desired
        self.is_static = is_static
        self.prober = Prober(ctx, self._probe_kill)
        self.runner = ContainerRunner(ctx, self.prober)
        self.volumes = VolumeManager(ctx.runtime, ctx.api, ctx.node_name)
        self.probe_failures: dict[str, str] = {}  # container id -> why its probe wants it killed
        self.statuses: dict[str, Obj] = {}  # key -> last status computed
        self.synced: Counter[str] = Counter()  # key -> syncs finished (tests wait on it)
        self._written: dict[str, tuple[str, int, Obj]] = {}  # key -> (uid, rv, status) last written
        self.on_pod_status: StatusHook | None = None
        self.cluster_dns: list[str] = []  # --cluster-dns: ClusterFirst pods' nameservers (actors/dns)
        self.cluster_domain = "cluster.local"

    # ------------------------------------------------------------------ entry point

    async def sync(self, key: str) -> None:
        try:
            await self._sync(key)
        finally:
            self.synced[key] += 1

    async def _sync(self, key: str) -> None:
        ns, _, name = key.partition("/")
        pod = self.desired(key)
        rt = self.ctx.runtime
        found = await rt.list(self.ctx.node_name, extra_labels={L.POD_NAMESPACE: ns, L.POD_NAME: name})
        uid = str((pod or {}).get("metadata", {}).get("uid") or "")
        stale = [s for s in found if s.pod_uid != uid]
        if stale:
            await self._remove_all(stale, pod)
        if pod is None:
            self.statuses.pop(key, None)
            self._written.pop(key, None)
            return
        mine = [s for s in found if s.pod_uid == uid]
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            await self.terminate(pod, mine)
            return
        await self._run(key, pod, mine)

    # ------------------------------------------------------------------ removal

    async def _remove_all(self, items: list[ContainerSummary], pod: Obj | None) -> None:
        """Stop (short grace) and remove containers of pods that are gone, then their sandboxes."""
        uids = {s.pod_uid for s in items}
        apps = [s for s in items if s.type != L.TYPE_SANDBOX]
        sandboxes = [s for s in items if s.type == L.TYPE_SANDBOX]
        for s in apps:
            self.prober.stop(s.id)

        async def kill(s: ContainerSummary) -> None:
            if s.running:
                try:
                    await self.ctx.runtime.stop(s.id, ORPHAN_GRACE)
                except NotFound:
                    pass
            await self.ctx.runtime.remove(s.id)
            self.ctx.forget(s.id)

        await asyncio.gather(*(kill(s) for s in apps))
        await asyncio.gather(*(kill(s) for s in sandboxes))
        for uid in uids:
            await self.volumes.teardown(uid)
            self.ctx.crash_backoff.forget_prefix(uid + "/")
        log.info("pod.cleaned_up", containers=len(items), uids=sorted(uids))

    async def terminate(self, pod: Obj, mine: list[ContainerSummary]) -> None:
        """preStop, SIGTERM, the grace period, SIGKILL; remove everything; delete the pod object."""
        key = pod_key(pod)
        grace = grace_of(pod)
        specs = {c["name"]: c for c in self._all_specs(pod)}
        sandboxes = _by_attempt([s for s in mine if s.type == L.TYPE_SANDBOX])
        by_name: dict[str, list[ContainerSummary]] = {}
        for s in _by_attempt([s for s in mine if s.type != L.TYPE_SANDBOX]):
            by_name.setdefault(s.container_name, []).append(s)
        actions = plan_pod(pod, await self._observe(pod, sandboxes, by_name), time.time())
        # the plan kills the newest instance of each container of the spec; anything else running
        # (an older instance, a container no longer in the spec) goes the same way
        kills = [(specs.get(k.name, {"name": k.name}), k.id, k.grace) for k in actions.kill]
        planned = {k.id for k in actions.kill}
        kills += [
            ({"name": s.container_name}, s.id, grace)
            for s in mine
            if s.type != L.TYPE_SANDBOX and s.running and s.id not in planned
        ]
        await asyncio.gather(*(self.runner.stop(pod, c, cid, g) for c, cid, g in kills))
        for s in mine:
            self.prober.stop(s.id)
            await self.ctx.runtime.remove(s.id)
            self.ctx.forget(s.id)
        await self.volumes.teardown(str(pod["metadata"]["uid"]))
        self.ctx.crash_backoff.forget_prefix(str(pod["metadata"]["uid"]) + "/")
        self.statuses.pop(key, None)
        self._written.pop(key, None)
        if self.is_static(key):
            return
        meta = pod["metadata"]
        try:
            await self.ctx.api.delete("pods", meta["name"], meta.get("namespace"), grace_period_seconds=0)
        except NotFound:
            pass
        log.info("pod.terminated", pod=key, grace=grace)

    async def _probe_kill(self, key: str, pod: Obj, c: Obj, cid: str, message: str) -> None:
        """A liveness or startup probe failed: the next sync's plan kills the container."""
        self.probe_failures[cid] = message
        self.ctx.enqueue(key)

    @staticmethod
    def _all_specs(pod: Obj) -> list[Obj]:
        spec = pod.get("spec") or {}
        return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]

    # ------------------------------------------------------------------ running a pod

    async def _run(self, key: str, pod: Obj, mine: list[ContainerSummary]) -> None:
        """Observe, plan (plan.py), execute: volumes, kills, the sandbox, then the starts."""
        uid = str(pod["metadata"]["uid"])
        sandboxes = _by_attempt([s for s in mine if s.type == L.TYPE_SANDBOX])
        by_name: dict[str, list[ContainerSummary]] = {}
        for s in _by_attempt([s for s in mine if s.type != L.TYPE_SANDBOX]):
            by_name.setdefault(s.container_name, []).append(s)
        for s in mine:
            if not s.running:
                self.prober.stop(s.id)
                self.probe_failures.pop(s.id, None)

        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            for sb in sandboxes:
                if sb.running:
                    await self.ctx.runtime.stop(sb.id, 0)
            await self._report(
                key, pod, by_name, {}, pod_ip=str((pod.get("status") or {}).get("podIP") or "")
            )
            return

        # volumes (before any container: Kubernetes' SyncPod waits for them too)
        try:
            volumes = await self.volumes.setup(pod)
        except MountError as exc:
            self.ctx.event(pod, "Warning", "FailedMount", exc.message)
            delay = self.ctx.mount_backoff.next(f"{uid}/mount", time.time())
            self.ctx.enqueue_after(key, delay)
            await self._report(key, pod, by_name, {}, pod_ip="")
            return
        self.ctx.mount_backoff.entries.pop(f"{uid}/mount", None)

        now = time.time()
        actions = plan_pod(pod, await self._observe(pod, sandboxes, by_name), now)
        await self._execute(key, pod, actions, sandboxes, by_name, volumes)

    async def _observe(
        self, pod: Obj, sandboxes: list[ContainerSummary], by_name: dict[str, list[ContainerSummary]]
    ) -> Observed:
        uid = str(pod["metadata"]["uid"])
        sb = sandboxes[-1] if sandboxes else None
        containers: dict[str, Instance] = {}
        for name, insts in by_name.items():
            latest = insts[-1]
            containers[name] = Instance(latest.id, latest.attempt, await self.ctx.inspect(latest))
        table = self.ctx.crash_backoff
        backoff = {n: e for n in containers if (e := table.entries.get(f"{uid}/{n}")) is not None}
        ids = [i.id for i in containers.values()]
        return Observed(
            sandbox=Sandbox(sb.id, sb.attempt, sb.running) if sb else None,
            containers=containers,
            backoff=backoff,
            ready=frozenset(i for i in ids if self.prober.ready(i)),
            started=frozenset(i for i in ids if self.prober.started(i)),
            probe_failures={i: m for i in ids if (m := self.probe_failures.get(i)) is not None},
            backoff_cap=table.cap,
        )

    async def _execute(
        self,
        key: str,
        pod: Obj,
        actions: PodActions,
        sandboxes: list[ContainerSummary],
        by_name: dict[str, list[ContainerSummary]],
        volumes: dict[str, str],
    ) -> None:
        spec = pod.get("spec") or {}
        uid = str(pod["metadata"]["uid"])
        specs = {c["name"]: c for c in self._all_specs(pod)}
        waiting: dict[str, tuple[str, str]] = {}

        # kills: a failed liveness/startup probe, or the pod's containers when its sandbox is replaced
        if actions.kill:
            await asyncio.gather(
                *(
                    self.runner.stop(
                        pod, specs.get(k.name, {"name": k.name}), k.id, k.grace, k.message or None
                    )
                    for k in actions.kill
                )
            )
            for k in actions.kill:
                self.probe_failures.pop(k.id, None)
            if not actions.create_sandbox:
                self.ctx.enqueue(key)  # the restart is the next sync's (policy and back-off)

        # the sandbox
        network = "host" if spec.get("hostNetwork") else None
        current_sb = sandboxes[-1] if sandboxes else None
        if actions.create_sandbox:
            sb = await self._new_sandbox(key, pod, actions.sandbox_attempt, network)
            if isinstance(sb, str):
                by_name = await self._instances(uid) if actions.kill else by_name
                await self._report(
                    key, pod, by_name, {}, pod_ip="", reason="FailedCreatePodSandBox", message=sb
                )
                return
        elif current_sb is not None and current_sb.running:
            sb = SandboxInfo(current_sb.id, "", current_sb.name)
        else:  # a dead sandbox not replaced (restartPolicy Never, or all succeeded): report only
            by_name = await self._instances(uid) if actions.kill else by_name
            await self._report(key, pod, by_name, {}, pod_ip="", init_pending=actions.init_pending)
            return
        pod_ip = await self.ctx.sandbox_ip(sb.id, network)
        pod_for_env = self._with_ips(pod, pod_ip)

        # back-offs, then the starts in the plan's order (at most one init container)
        meta = pod["metadata"]
        for b in actions.back_off:
            waiting[b.name] = ("CrashLoopBackOff", b.message)
            self.ctx.event(pod, "Warning", "BackOff", "Back-off restarting failed container")
            self.ctx.enqueue_after(key, b.left + 0.05)
        for name, cid in actions.start_existing:
            st = await self.ctx.runtime.inspect(cid)
            await self._start_existing(key, pod, specs[name], st, pod_ip, waiting)
        for start in actions.start:
            if start.died_at is not None:
                self.ctx.crash_backoff.next(f"{meta['uid']}/{start.name}", start.died_at)
            r = await self.runner.start(pod_for_env, specs[start.name], sb, start.attempt, volumes, pod_ip)
            if r.waiting:
                waiting[start.name] = r.waiting

        by_name = await self._instances(uid)
        await self._report(key, pod, by_name, waiting, pod_ip=pod_ip, init_pending=actions.init_pending)

    async def _instances(self, uid: str) -> dict[str, list[ContainerSummary]]:
        by_name: dict[str, list[ContainerSummary]] = {}
        fresh = await self.ctx.runtime.list(self.ctx.node_name, uid)
        for s in _by_attempt([s for s in fresh if s.type != L.TYPE_SANDBOX]):
            by_name.setdefault(s.container_name, []).append(s)
        return by_name

    def _with_ips(self, pod: Obj, pod_ip: str) -> Obj:
        status = dict(pod.get("status") or {})
        status["podIP"] = pod_ip
        status["hostIP"] = self.ctx.host_ip
        return {**pod, "status": status}

    async def _new_sandbox(self, key: str, pod: Obj, attempt: int, network: str | None) -> SandboxInfo | str:
        meta = pod["metadata"]
        spec = pod.get("spec") or {}
        hostname = str(spec.get("hostname") or meta["name"])
        try:
            sandbox = await self.ctx.runtime.create_sandbox(
                key,
                str(meta["uid"]),
                self.ctx.node_name,
                hostname,
                pod_port_mappings(pod),
                dns=pod_dns(pod, self.cluster_dns, self.cluster_domain),
                network=network,
                attempt=attempt,
                # a pod whose sandbox is made again (its node restarted) asks for the address it had
                ip=str((pod.get("status") or {}).get("podIP") or "") or None,
            )
            POD_STARTS.labels(self.ctx.node_name).inc()
            return sandbox
        except AlreadyExists:
            for s in await self.ctx.runtime.list(self.ctx.node_name, str(meta["uid"]), type_=L.TYPE_SANDBOX):
                if s.attempt == attempt:
                    if not s.running:
                        await self.ctx.runtime.start(s.id)
                    return SandboxInfo(s.id, "", s.name)
            raise
        except DockerError as exc:
            if isinstance(exc, ServiceUnavailable):
                raise
            engine = (exc.details or {}).get("engineMessage") or exc.message
            msg = f"Failed to create pod sandbox: {engine}"
            self.ctx.event(pod, "Warning", "FailedCreatePodSandBox", msg)
            delay = self.ctx.mount_backoff.next(f"{meta['uid']}/sandbox", time.time())
            self.ctx.enqueue_after(key, delay)
            return msg

    async def _start_existing(
        self, key: str, pod: Obj, c: Obj, st: ContainerState, pod_ip: str, waiting: dict[str, tuple[str, str]]
    ) -> None:
        """A container created but never started (the kubelet stopped in between): start it."""
        try:
            await self.ctx.runtime.start(st.id)
        except JetkubeError as exc:
            if isinstance(exc, ServiceUnavailable):
                raise
            waiting[c["name"]] = ("RunContainerError", exc.message)
            return
        self.ctx.event(pod, "Normal", "Started", f"Started container {c['name']}")
        CONTAINER_STARTS.labels(self.ctx.node_name).inc()
        self.prober.ensure(key, pod, c, st.id, pod_ip)

    # ------------------------------------------------------------------ status

    async def _views(
        self,
        specs: list[Obj],
        by_name: dict[str, list[ContainerSummary]],
        waiting: dict[str, tuple[str, str]],
        default_waiting: tuple[str, str] | None,
    ) -> list[ContainerView]:
        views: list[ContainerView] = []
        for c in specs:
            insts = by_name.get(c["name"], [])
            policy = str(c.get("terminationMessagePolicy") or "File")
            v = ContainerView(name=c["name"], image=str(c.get("image") or ""))
            if insts:
                cur = await self.ctx.inspect(insts[-1])
                v.current = cur
                v.restart_count = insts[-1].attempt
                if is_exited(cur):
                    v.current_message = await self.ctx.termination_message(cur, policy)
                if len(insts) > 1:
                    prev = await self.ctx.inspect(insts[-2])
                    v.previous = prev
                    if is_exited(prev):
                        v.previous_message = await self.ctx.termination_message(prev, policy)
                v.started = self.prober.started(cur.id) if c.get("startupProbe") else None
                v.ready = ready_of(c, cur.running, self.prober.ready(cur.id), v.started)
                if cur.status == "created" and not cur.error and c["name"] not in waiting:
                    v.waiting = ("ContainerCreating", "")
            v.waiting = waiting.get(c["name"], v.waiting)
            if v.current is None and v.waiting is None:
                v.waiting = default_waiting
            views.append(v)
        return views

    async def _report(
        self,
        key: str,
        pod: Obj,
        by_name: dict[str, list[ContainerSummary]],
        waiting: dict[str, tuple[str, str]],
        *,
        pod_ip: str,
        init_pending: bool = False,
        reason: str = "",
        message: str = "",
    ) -> None:
        spec = pod.get("spec") or {}
        base = self._base(key, pod)
        init_views = await self._views(
            spec.get("initContainers") or [], by_name, waiting, ("PodInitializing", "")
        )
        app_default = ("PodInitializing", "") if init_pending else ("ContainerCreating", "")
        views = await self._views(spec.get("containers") or [], by_name, waiting, app_default)
        status = compute_status(
            base,
            init_views,
            views,
            pod_ip=pod_ip,
            host_ip=self.ctx.host_ip,
            now=now_rfc3339(),
            reason=reason,
            message=message,
        )
        self.statuses[key] = status
        if status == (base.get("status") or {}):
            return
        if self.is_static(key):
            self._written[key] = (str(pod["metadata"]["uid"]), 0, status)
            if self.on_pod_status is not None:
                await self.on_pod_status(pod, status)
            return
        await self._write(key, base, status)

    def _base(self, key: str, pod: Obj) -> Obj:
        """The pod with the newest status we know: the cache's, or our own last write if newer."""
        w = self._written.get(key)
        uid = str(pod["metadata"]["uid"])
        if w is not None and w[0] == uid and w[1] >= int(pod["metadata"].get("resourceVersion") or 0):
            meta = {**pod["metadata"], "resourceVersion": str(w[1])}
            return {**pod, "metadata": meta, "status": w[2]}
        return pod

    async def _write(self, key: str, base: Obj, status: Obj) -> None:
        meta = base["metadata"]
        body: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "status": status,
        }
        for _ in range(5):
            try:
                out = await self.ctx.api.update_status("pods", body)
            except Conflict:
                try:
                    fresh = await self.ctx.api.get("pods", meta["name"], meta.get("namespace"))
                except NotFound:
                    return
                if fresh["metadata"].get("uid") != meta.get("uid") or fresh["metadata"].get(
                    "deletionTimestamp"
                ):
                    self.ctx.enqueue(key)
                    return
                body["metadata"]["resourceVersion"] = fresh["metadata"]["resourceVersion"]
                continue
            except NotFound:
                return
            self._written[key] = (
                str(meta["uid"]),
                int(out["metadata"]["resourceVersion"]),
                out.get("status") or {},
            )
            return
        raise Conflict(f"pod {key}: status write kept conflicting")
