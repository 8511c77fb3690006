"""Probe workers: one task per probe of each running container instance.

Lifecycle: :meth:`Prober.ensure` is called by the pod sync for every running container; it starts
the missing workers (a container without probes gets none: it is ready and started as soon as it
runs). A worker waits ``initialDelaySeconds``, then probes every ``periodSeconds`` with
``timeoutSeconds``; the startup probe, when there is one, must succeed before liveness and
readiness begin. Results go through :class:`~actors.kubelet.probe_state.ProbeTracker`; a change
of readiness or startup asks for a pod sync (the status follows), a liveness or startup failure
records ``Unhealthy`` and asks the kubelet to kill the container ("Container X failed liveness
probe, will be restarted"). :meth:`Prober.stop` cancels a dead container's workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.kubelet.context import KubeletContext
from actors.kubelet.handlers import run_action
from actors.kubelet.probe_state import Kind, ProbeSpec, ProbeTracker, action_for
from actors.metrics.instruments import PROBE_FAILURES
from actors.runtime.supervisor import guarded_task

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
KillFn = Callable[[str, Obj, Obj, str, str], Awaitable[None]]  # key, pod, container, cid, message


@dataclass
class Workers:
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    ready: bool = False
    started: bool = False
    started_event: asyncio.Event = field(default_factory=asyncio.Event)


class Prober:
    def __init__(self, ctx: KubeletContext, kill: KillFn) -> None:
        self.ctx = ctx
        self.kill = kill
        self.workers: dict[str, Workers] = {}

    def ready(self, cid: str) -> bool:
        w = self.workers.get(cid)
        return bool(w and w.ready)

    def started(self, cid: str) -> bool:
        w = self.workers.get(cid)
        return bool(w and w.started)

    def ensure(self, key: str, pod: Obj, container: Obj, cid: str, pod_ip: str) -> None:
        if cid in self.workers:
            return
        w = Workers()
        self.workers[cid] = w
        has_startup = bool(container.get("startupProbe"))
        w.started = not has_startup
        if w.started:
            w.started_event.set()
        w.ready = not container.get("readinessProbe")
        kinds: tuple[tuple[Kind, str], ...] = (
            ("startup", "startupProbe"),
            ("liveness", "livenessProbe"),
            ("readiness", "readinessProbe"),
        )
        for kind, field_ in kinds:
            probe = container.get(field_)
            if probe:
                name = f"probe:{key}:{container['name']}:{kind}"
                w.tasks.append(
                    guarded_task(name, self._worker(kind, probe, key, pod, container, cid, pod_ip, w))
                )

    def stop(self, cid: str) -> None:
        w = self.workers.pop(cid, None)
        if w is not None:
            for t in w.tasks:
                t.cancel()

    def stop_all(self) -> None:
        for cid in list(self.workers):
            self.stop(cid)

    def keep_only(self, live: set[str]) -> None:
        for cid in [c for c in self.workers if c not in live]:
            self.stop(cid)

    async def _worker(
        self, kind: Kind, probe: Obj, key: str, pod: Obj, container: Obj, cid: str, pod_ip: str, w: Workers
    ) -> None:
        spec = ProbeSpec.of(probe)
        tracker = ProbeTracker(kind, spec)
        if kind != "startup":
            await w.started_event.wait()
        await asyncio.sleep(spec.initial_delay)
        title = kind.capitalize()
        failures = PROBE_FAILURES.labels(self.ctx.node_name, kind)
        while True:
            ok, message = await run_action(self.ctx.runtime, cid, probe, container, pod_ip, spec.timeout)
            if not ok:
                failures.inc()
                self.ctx.event(pod, "Warning", "Unhealthy", f"{title} probe failed: {message}".rstrip())
            changed = tracker.observe(ok)
            if changed is not None:
                act = action_for(kind, changed)
                log.info("probe.result", pod=key, container=container["name"], kind=kind, ok=changed)
                if act == "kill":
                    what = "liveness" if kind == "liveness" else "startup"
                    await self.kill(
                        key,
                        pod,
                        container,
                        cid,
                        f"Container {container['name']} failed {what} probe, will be restarted",
                    )
                    return
                if act == "started":
                    w.started = True
                    w.started_event.set()
                    self.ctx.enqueue(key)
                    return
                if act in ("set_ready", "set_unready"):
                    w.ready = act == "set_ready"
                    self.ctx.enqueue(key)
            await asyncio.sleep(spec.period)
