"""``jetkube top``'s data: every node's usage sample, gathered over NATS; kubectl's formatting.

    data = await collect_top(api, bus, timeout=5.0)     # CLI and dashboard alike
    data.nodes   -> [NodeTop(name, cpu_nanocores|None, memory_bytes|None, cpu_allocatable_milli, ...)]
    data.pods    -> [PodTop(namespace, name, cpu_nanocores, memory_bytes, containers)]
    data.missing -> names of the nodes asked that did not answer in time (or collect no stats)

:func:`collect_top` lists the Nodes through the api, asks the kubelet of each Ready node (or of
the ``nodes`` given) on ``jetkube.node.<node>.stats`` concurrently (at most ``CONCURRENCY`` at
once) within one ``timeout``, and keeps what came back. A node that has not sampled yet, or did
not answer, has ``None`` usage: kubectl prints ``<unknown>`` for it. Usage figures come from the
kubelets' last samples (actors/kubelet/stats.py), so they are up to one stats interval old.

The formatting is kubectl's: CPU in millicores (``250m``), memory in mebibytes (``512Mi``),
percentages of the node's allocatable (capacity when it has none), rounded down.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import JetkubeError
from schemas.quantity import cpu_millis, to_bytes

CONCURRENCY = 64
DEFAULT_TIMEOUT = 5.0
STATS_VERB = "stats"


# ---------------------------------------------------------------------- pure


def format_cpu(nanocores: int) -> str:
    """kubectl's CPU column: millicores, rounded up as Quantity.MilliValue does (``250m``)."""
    return f"{-(-int(nanocores) // 1_000_000)}m"


def format_memory(nbytes: int) -> str:
    """kubectl's memory column: mebibytes, rounded down (``512Mi``)."""
    return f"{int(nbytes) // (1024 * 1024)}Mi"


def percent(usage: float, total: float) -> str:
    """``12%`` (rounded down, as kubectl's integer division); ``<unknown>`` without a total."""
    if total <= 0:
        return "<unknown>"
    return f"{int(usage * 100 // total)}%"


def is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def allocatable(node: dict[str, Any]) -> tuple[int, int]:
    """(CPU millicores, memory bytes) the node can give pods: allocatable, else capacity."""
    status = node.get("status") or {}
    res = status.get("allocatable") or status.get("capacity") or {}
    try:
        cpu = cpu_millis(res.get("cpu", 0))
    except (ValueError, TypeError, JetkubeError):
        cpu = 0
    try:
        memory = to_bytes(res.get("memory", 0))
    except (ValueError, TypeError, JetkubeError):
        memory = 0
    return cpu, memory


@dataclass
class ContainerTop:
    name: str
    cpu_nanocores: int
    memory_bytes: int


@dataclass
class PodTop:
    namespace: str
    name: str
    node: str
    cpu_nanocores: int
    memory_bytes: int
    containers: list[ContainerTop] = field(default_factory=list)


@dataclass
class NodeTop:
    name: str
    cpu_nanocores: int | None  # None: no sample (yet)
    memory_bytes: int | None
    cpu_allocatable_milli: int
    memory_allocatable_bytes: int
    sampled_at: str | None = None

    def row(self) -> list[str]:
        """NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%, as kubectl prints a node."""
        if self.cpu_nanocores is None or self.memory_bytes is None:
            return [self.name, "<unknown>", "<unknown>", "<unknown>", "<unknown>"]
        return [
            self.name,
            format_cpu(self.cpu_nanocores),
            percent(self.cpu_nanocores / 1_000_000, self.cpu_allocatable_milli),
            format_memory(self.memory_bytes),
            percent(self.memory_bytes, self.memory_allocatable_bytes),
        ]


@dataclass
class TopData:
    nodes: list[NodeTop] = field(default_factory=list)
    pods: list[PodTop] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


Summary = tuple[int | None, int | None, str | None, list[PodTop]]


def parse_summary(node: str, reply: dict[str, Any]) -> Summary:
    """A kubelet's stats reply as (node cpu, node memory, sample time, pods); Nones before a sample."""
    info = reply.get("node") or {}
    taken = info.get("time")
    if not taken:
        return None, None, None, []
    pods = []
    for p in reply.get("pods") or []:
        ref = p.get("podRef") or {}
        pods.append(
            PodTop(
                namespace=str(ref.get("namespace") or ""),
                name=str(ref.get("name") or ""),
                node=node,
                cpu_nanocores=int((p.get("cpu") or {}).get("usageNanoCores") or 0),
                memory_bytes=int((p.get("memory") or {}).get("workingSetBytes") or 0),
                containers=[
                    ContainerTop(
                        str(c.get("name")),
                        int((c.get("cpu") or {}).get("usageNanoCores") or 0),
                        int((c.get("memory") or {}).get("workingSetBytes") or 0),
                    )
                    for c in p.get("containers") or []
                ],
            )
        )
    cpu = int((info.get("cpu") or {}).get("usageNanoCores") or 0)
    memory = int((info.get("memory") or {}).get("workingSetBytes") or 0)
    return cpu, memory, str(taken), pods


# ---------------------------------------------------------------------- I/O


async def node_stats(bus: Any, node: str, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """One kubelet's stats reply (raises the kubelet's or the transport's error)."""
    from bus.auth import node_subject
    from bus.rpc import request

    reply = await request(bus, node_subject(node, STATS_VERB), {}, timeout=timeout)
    return dict(reply or {})


async def collect_top(
    api: Any,
    bus: Any,
    *,
    nodes: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> TopData:
    """Ask every Ready node (or ``nodes``) for its last sample, concurrently, within ``timeout``."""
    listing = await api.list("nodes")
    objects = {str(n["metadata"]["name"]): n for n in listing.get("items") or []}
    names = sorted(objects) if nodes is None else [n for n in nodes if n in objects]
    asked = [n for n in names if nodes is not None or is_ready(objects[n])]
    gate = asyncio.Semaphore(CONCURRENCY)
    data = TopData()

    async def ask(name: str) -> tuple[str, dict[str, Any] | None]:
        async with gate:
            try:
                return name, await node_stats(bus, name, timeout=timeout)
            except JetkubeError:
                return name, None

    try:
        async with asyncio.timeout(timeout + 1.0):
            answers = dict(await asyncio.gather(*(ask(n) for n in asked)))
    except TimeoutError:
        answers = {}
    for name in names:
        cpu_alloc, mem_alloc = allocatable(objects[name])
        reply = answers.get(name)
        if reply is None:
            if name in asked:
                data.missing.append(name)
            data.nodes.append(NodeTop(name, None, None, cpu_alloc, mem_alloc))
            continue
        cpu, memory, taken, pods = parse_summary(name, reply)
        data.nodes.append(NodeTop(name, cpu, memory, cpu_alloc, mem_alloc, taken))
        data.pods.extend(pods)
    return data
