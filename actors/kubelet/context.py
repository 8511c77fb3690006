"""What the kubelet's parts share: the engine, the api, events, and small per-node caches.

One :class:`KubeletContext` per kubelet. It holds no decisions: the pod sync (sync.py), the
container starter (containers.py), the prober (prober.py) and the node agent (node.py) all take
it. Caches are keyed by Docker container id and only ever hold facts that cannot change (the
final state and termination message of a dead container, the IP of a sandbox), or are refreshed
when the engine's list says the container's state moved.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.kubelet.cri import ContainerRuntime
from actors.kubelet.restart import BackoffTable
from actors.kubelet.types import ContainerState, ContainerSummary
from actors.runtime.supervisor import guarded_task
from bus.events import EventRecorder
from bus.interfaces import ObjectApi

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
MAX_CACHE = 20_000
LOG_FALLBACK_LINES = 80
LOG_FALLBACK_BYTES = 2048


@dataclass
class KubeletContext:
    runtime: ContainerRuntime
    api: ObjectApi
    recorder: EventRecorder | None
    node_name: str
    host_ip: str
    allocatable: dict[str, Any] = field(default_factory=dict)
    enqueue: Callable[[str], None] = lambda key: None
    enqueue_after: Callable[[str, float], None] = lambda key, delay: None
    crash_backoff: BackoffTable = field(default_factory=BackoffTable)
    pull_backoff: BackoffTable = field(default_factory=BackoffTable)
    mount_backoff: BackoffTable = field(default_factory=lambda: BackoffTable(1.0, 30.0))
    pull_errors: dict[str, str] = field(default_factory=dict)
    # the Services for a namespace's service env variables (a cache, e.g. a hollow fleet's shared
    # informer); None: the container starter lists them from the api
    services: Callable[[str], Awaitable[list[Obj]]] | None = None
    _states: dict[str, ContainerState] = field(default_factory=dict)
    _messages: dict[str, str] = field(default_factory=dict)
    _sandbox_ips: dict[str, str] = field(default_factory=dict)

    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        """Record a Kubernetes Event without waiting for it (events never block a sync)."""
        if self.recorder is None:
            return
        target = {"apiVersion": "v1", "kind": "Pod", "metadata": obj.get("metadata") or {}}
        guarded_task(f"event:{reason}", self.recorder.record(target, type_, reason, message))

    async def inspect(self, s: ContainerSummary) -> ContainerState:
        cached = self._states.get(s.id)
        if cached is not None and (cached.running == s.running) and cached.status == s.state:
            return cached
        st = await self.runtime.inspect(s.id)
        if len(self._states) > MAX_CACHE:
            self._states.clear()
        self._states[s.id] = st
        return st

    def forget(self, container_id: str) -> None:
        self._states.pop(container_id, None)
        self._messages.pop(container_id, None)
        self._sandbox_ips.pop(container_id, None)

    async def sandbox_ip(self, sandbox_id: str, network: str | None = None) -> str:
        ip = self._sandbox_ips.get(sandbox_id)
        if ip is None:
            ip = await self.runtime.sandbox_ip(sandbox_id, network)
            if network == "host":
                ip = self.host_ip
            self._sandbox_ips[sandbox_id] = ip
        return ip

    async def termination_message(self, st: ContainerState, policy: str) -> str:
        """The dead container's message: its termination file, or with FallbackToLogsOnError and
        a failure, the last 80 lines (2048 bytes at most) of its logs."""
        if st.id in self._messages:
            return self._messages[st.id]
        msg = await self.runtime.read_termination_message(st.id)
        if not msg and policy == "FallbackToLogsOnError" and (st.exit_code or 0) != 0:
            lines = [line async for line in self.runtime.logs(st.id, tail=LOG_FALLBACK_LINES)]
            raw = "\n".join(lines).encode()
            msg = raw[-LOG_FALLBACK_BYTES:].decode(errors="replace")
        self._messages[st.id] = msg
        return msg


def now() -> float:
    return time.time()
