"""Container CPU and memory, sampled from the engine: what ``jetkube top`` shows.

Lifecycle: :class:`StatsCollector` is a kubelet agent (``kubelet:<node>:stats``). Every
``interval`` seconds (``--stats-interval``, 10 s by default; 0 turns it off) it lists this node's
running app containers (one engine call) and reads each one's stats in the engine's one-shot
mode, at most ``CONCURRENCY`` at a time; it keeps only the last snapshot and, per container, the
last cumulative CPU counter. The kubelet's server answers ``jetkube.node.<node>.stats`` from that
snapshot (:meth:`StatsCollector.summary`), so a request never touches the engine.

The maths (pure, tested as tables):

* **CPU** is a rate: the growth of the container's cumulative ``cpu_stats.cpu_usage.total_usage``
  (nanoseconds of CPU) between two of our samples, over the wall time between them, in nanocores
  (1e9 = one core). The first sample of a container has no predecessor; its rate is its average
  since it was created (usage / age), so ``top`` has a figure after one round rather than two.
* **Memory** is the working set, as cAdvisor and kubectl count it: ``usage`` minus the inactive
  file cache (``total_inactive_file`` on cgroup v1, ``inactive_file`` on v2), never below zero.

Trade-offs: the pause (infra) containers are not sampled (they use almost nothing, and skipping
them halves the engine calls); a node's usage is the sum of its pods' containers, not the host's,
because several jetkube nodes may share one engine (the test bed does) and the host's figures
would be counted once per node.

Reply of ``jetkube.node.<node>.stats`` (shaped like the kubelet's summary API)::

    {"node": {"nodeName", "time" (RFC 3339 or None before the first sample),
              "cpu": {"usageNanoCores"}, "memory": {"workingSetBytes"}},
     "pods": [{"podRef": {"namespace", "name", "uid"}, "cpu": {...}, "memory": {...},
               "containers": [{"name", "cpu": {...}, "memory": {...}}]}]}
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from actors.kubelet import labels as L
from actors.kubelet.types import ContainerSummary
from schemas.errors import JetkubeError

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL = 10.0
CONCURRENCY = 8
NANO = 1_000_000_000


# ---------------------------------------------------------------------- pure maths


def cumulative_cpu_ns(stats: dict[str, Any]) -> int | None:
    """The container's total CPU time so far (ns), from the engine's stats JSON."""
    usage = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
    return int(usage) if isinstance(usage, int | float) else None


def working_set_bytes(stats: dict[str, Any]) -> int | None:
    """Memory usage minus the inactive file cache (cgroup v1 and v2), as cAdvisor counts it."""
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if not isinstance(usage, int | float):
        return None
    detail = memory.get("stats") or {}
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0)) or 0
    return max(0, int(usage) - int(inactive))


def cpu_rate_nanocores(prev: tuple[int, float] | None, usage_ns: int, now: float, age: float | None) -> int:
    """CPU in nanocores from (previous cumulative ns, its time) to (``usage_ns``, ``now``);
    with no previous sample, the average over the container's ``age`` seconds (0 if unknown)."""
    if prev is not None:
        prev_usage, prev_time = prev
        elapsed = now - prev_time
        if elapsed > 0 and usage_ns >= prev_usage:
            return int((usage_ns - prev_usage) / elapsed)
        return 0
    if age and age > 0:
        return int(usage_ns / age)
    return 0


@dataclass
class ContainerUsage:
    name: str
    cpu_nanocores: int
    memory_bytes: int

    def wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cpu": {"usageNanoCores": self.cpu_nanocores},
            "memory": {"workingSetBytes": self.memory_bytes},
        }


@dataclass
class PodUsage:
    namespace: str
    name: str
    uid: str
    containers: list[ContainerUsage] = field(default_factory=list)

    @property
    def cpu_nanocores(self) -> int:
        return sum(c.cpu_nanocores for c in self.containers)

    @property
    def memory_bytes(self) -> int:
        return sum(c.memory_bytes for c in self.containers)

    def wire(self) -> dict[str, Any]:
        return {
            "podRef": {"namespace": self.namespace, "name": self.name, "uid": self.uid},
            "cpu": {"usageNanoCores": self.cpu_nanocores},
            "memory": {"workingSetBytes": self.memory_bytes},
            "containers": [c.wire() for c in sorted(self.containers, key=lambda c: c.name)],
        }


def group_by_pod(samples: list[tuple[ContainerSummary, ContainerUsage]]) -> list[PodUsage]:
    """Container samples grouped into pods (by uid), sorted by namespace and name."""
    pods: dict[str, PodUsage] = {}
    for summary, usage in samples:
        pod = pods.get(summary.pod_uid)
        if pod is None:
            pod = pods[summary.pod_uid] = PodUsage(summary.namespace, summary.pod_name, summary.pod_uid)
        pod.containers.append(usage)
    return sorted(pods.values(), key=lambda p: (p.namespace, p.name))


def summary_reply(node_name: str, taken_at: datetime | None, pods: list[PodUsage]) -> dict[str, Any]:
    return {
        "node": {
            "nodeName": node_name,
            "time": taken_at.strftime("%Y-%m-%dT%H:%M:%SZ") if taken_at else None,
            "cpu": {"usageNanoCores": sum(p.cpu_nanocores for p in pods)},
            "memory": {"workingSetBytes": sum(p.memory_bytes for p in pods)},
        },
        "pods": [p.wire() for p in pods],
    }


# ---------------------------------------------------------------------- the agent


class StatsCollector:
    """Samples this node's containers every ``interval`` seconds; see the module docstring."""

    def __init__(self, runtime: Any, node_name: str, interval: float = DEFAULT_INTERVAL) -> None:
        self.runtime = runtime
        self.node_name = node_name
        self.interval = interval
        self.taken_at: datetime | None = None
        self.pods: list[PodUsage] = []
        self._cpu: dict[str, tuple[int, float]] = {}  # container id -> (cumulative ns, monotonic time)
        self.collected = asyncio.Event()

    def summary(self) -> dict[str, Any]:
        return summary_reply(self.node_name, self.taken_at, self.pods)

    async def run(self) -> None:
        while True:
            try:
                await self.collect()
            except JetkubeError as exc:
                log.info("stats.engine_unavailable", node=self.node_name, error=exc.message)
            await asyncio.sleep(self.interval)

    async def collect(self) -> None:
        """One round: sample every running app container of this node."""
        running = [
            s
            for s in await self.runtime.list(self.node_name, include_dead=False, type_=L.TYPE_CONTAINER)
            if s.running
        ]
        gate = asyncio.Semaphore(CONCURRENCY)

        async def sample(s: ContainerSummary) -> tuple[ContainerSummary, ContainerUsage] | None:
            async with gate:
                try:
                    raw = await self.runtime.stats(s.id)
                except JetkubeError:
                    return None  # stopped between the list and the read
            now = time.monotonic()
            usage_ns = cumulative_cpu_ns(raw)
            memory = working_set_bytes(raw)
            if usage_ns is None or memory is None:
                return None  # the engine has no figures for a container that just stopped
            age = (datetime.now(UTC) - s.created).total_seconds() if s.created else None
            cpu = cpu_rate_nanocores(self._cpu.get(s.id), usage_ns, now, age)
            self._cpu[s.id] = (usage_ns, now)
            return s, ContainerUsage(s.container_name, cpu, memory)

        results = await asyncio.gather(*(sample(s) for s in running))
        samples = [r for r in results if r is not None]
        live = {s.id for s, _ in samples}
        for cid in [c for c in self._cpu if c not in live]:
            del self._cpu[cid]
        self.pods = group_by_pod(samples)
        self.taken_at = datetime.now(UTC)
        self.collected.set()
