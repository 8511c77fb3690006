"""Filters: which nodes can take a pod, over all node slots or a few, and why the others cannot.

:func:`feasible` answers for the slots ``idx`` (a slice for all, or an index array) with numpy
operations only. :func:`failure_reasons` explains an unschedulable pod: it runs the filters in
kube-scheduler's plugin order (NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts,
NodeResourcesFit) and charges each node to the first filter it fails, as the scheduling framework
does; a node that lacks several resources counts once for each, as NodeResourcesFit reports them.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from actors.scheduler import messages
from actors.scheduler.interpod import interpod_failures
from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import PodInfo
from actors.scheduler.selectors import Index
from actors.scheduler.spread import spread_failures
from actors.scheduler.taints import tolerates_unschedulable


def port_conflict_mask(cache: NodeCache, info: PodInfo, idx: Index, size: int) -> np.ndarray:
    taken = cache.port_conflicts(info.ports)
    if not taken:
        return np.zeros(size, dtype=bool)
    if isinstance(idx, slice):
        mask = np.zeros(cache.capacity, dtype=bool)
        mask[taken] = True
        return mask[idx]
    return np.isin(idx, taken)


def static_ok(cache: NodeCache, info: PodInfo, idx: Index, size: int) -> np.ndarray:
    """Filters that do not depend on other pods: presence, cordon, taints, labels."""
    ok = cache.present[idx] & cache.taints.table(info.tolerations).ok[cache.taintset[idx]]
    if not tolerates_unschedulable(info.tolerations):
        ok &= ~cache.unsched[idx]
    if info.required is not None:
        ok &= cache.required_mask(info.required)[idx]
    return ok


def fits(cache: NodeCache, info: PodInfo, idx: Index) -> np.ndarray:
    """NodeResourcesFit: pod count, and cpu/memory where the pod requests any."""
    ok = cache.pod_count[idx] < cache.alloc_pods[idx]
    if info.cpu:
        ok &= cache.alloc_cpu[idx] - cache.req_cpu[idx] >= info.cpu
    if info.mem:
        ok &= cache.alloc_mem[idx] - cache.req_mem[idx] >= info.mem
    return ok


def feasible(cache: NodeCache, info: PodInfo, idx: Index, size: int) -> np.ndarray:
    ok = static_ok(cache, info, idx, size) & fits(cache, info, idx)
    if info.ports:
        ok &= ~port_conflict_mask(cache, info, idx, size)
    return ok


def failure_reasons(cache: NodeCache, info: PodInfo) -> Counter[str]:
    """Why each present node rejects the pod, counted by kubectl's reason strings."""
    reasons: Counter[str] = Counter()
    everything = slice(None)
    remaining = cache.present.copy()

    def charge(bad: np.ndarray, reason: str) -> None:
        nonlocal remaining
        count = int(bad.sum())
        if count:
            reasons[reason] += count
            remaining = remaining & ~bad

    if not tolerates_unschedulable(info.tolerations):
        charge(remaining & cache.unsched, messages.UNSCHEDULABLE)
    table = cache.taints.table(info.tolerations)
    bad = remaining & ~table.ok[cache.taintset]
    if bad.any():
        for tid, count in enumerate(np.bincount(cache.taintset[bad])):
            reason = table.reasons[tid]
            if count and reason:
                reasons[reason] += int(count)
        remaining = remaining & ~bad
    if info.required is not None:
        charge(remaining & ~cache.required_mask(info.required), messages.NODE_AFFINITY)
    if info.ports:
        charge(remaining & port_conflict_mask(cache, info, everything, cache.capacity), messages.HOST_PORTS)
    pods_bad = remaining & (cache.pod_count >= cache.alloc_pods)
    cpu_bad = remaining & (cache.alloc_cpu - cache.req_cpu < info.cpu) if info.cpu else None
    mem_bad = remaining & (cache.alloc_mem - cache.req_mem < info.mem) if info.mem else None
    for bad_nodes, reason in (
        (pods_bad, messages.TOO_MANY_PODS),
        (cpu_bad, messages.INSUFFICIENT_CPU),
        (mem_bad, messages.INSUFFICIENT_MEMORY),
    ):
        if bad_nodes is not None and (count := int(bad_nodes.sum())):
            reasons[reason] += count
            remaining = remaining & ~bad_nodes
    spread = spread_failures(cache, info)  # PodTopologySpread, then InterPodAffinity: the last filters
    if spread is not None:
        for bad_nodes, reason in zip(spread, messages.SPREAD, strict=True):
            charge(remaining & bad_nodes, reason)
    interpod = interpod_failures(cache, info)
    if interpod is not None:
        for bad_nodes, reason in zip(interpod, messages.INTERPOD, strict=True):
            charge(remaining & bad_nodes, reason)
    return reasons


def feasible_at(cache: NodeCache, info: PodInfo, i: int) -> bool:
    """:func:`feasible` for one slot, with Python scalars: the incremental path's fast case.

    Must agree with the vectorised filters exactly (tests/unit/scheduler/test_incremental.py)."""
    if not cache.present.item(i):
        return False
    table = cache.taints.table(info.tolerations)
    if not table.ok.item(cache.taintset.item(i)):
        return False
    if cache.unsched.item(i) and not tolerates_unschedulable(info.tolerations):
        return False
    if info.required is not None and not cache.required_mask(info.required).item(i):
        return False
    if cache.pod_count.item(i) >= cache.alloc_pods.item(i):
        return False
    if info.cpu and cache.alloc_cpu.item(i) - cache.req_cpu.item(i) < info.cpu:
        return False
    if info.mem and cache.alloc_mem.item(i) - cache.req_mem.item(i) < info.mem:
        return False
    return not (info.ports and i in cache.port_conflicts(info.ports))
