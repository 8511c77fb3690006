"""Scores: how good each feasible node is for a pod, 0-100 per score, summed with weights.

Every score here depends on the node alone (and the pod), never on the other nodes, so a node's
total can be recomputed by itself when only that node changed. That is a deliberate difference
from kube-scheduler, which normalises some scores by the maximum over all nodes; the order of nodes
within each score is the same:

* least-allocated (NodeResourcesFit, LeastAllocated): the mean over cpu and memory of
  ``(allocatable - requested) * 100 / allocatable`` after placing the pod, with the non-zero
  requests (100m, 200 MiB for containers that request nothing), as kube-scheduler;
* balanced allocation: ``(1 - |cpu fraction - memory fraction| / 2) * 100``;
* preferred node affinity: the weights of the matching preferred terms, over the sum of all the
  pod's preferred weights (Kubernetes divides by the best node's sum);
* taint toleration: ``100 / (1 + untolerated PreferNoSchedule taints)``;
* spreading: ``100 / (1 + pods of the same controller on the node)`` (kube-scheduler's default
  spreading scores by the same count, normalised by the busiest node).

Each score is floored to an integer, as in Kubernetes, so that equal nodes tie exactly and the
tie-break spreads pods among them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import PodInfo
from actors.scheduler.selectors import Index, term_mask


@dataclass(frozen=True)
class Weights:
    """kube-scheduler's default plugin weights."""

    least_allocated: float = 1.0
    balanced: float = 1.0
    node_affinity: float = 2.0
    taint_toleration: float = 3.0
    spread: float = 2.0


DEFAULT_WEIGHTS = Weights()


def least_allocated(cache: NodeCache, info: PodInfo, idx: Index) -> np.ndarray:
    alloc_cpu = cache.alloc_cpu[idx]
    alloc_mem = cache.alloc_mem[idx]
    free_cpu = (alloc_cpu - cache.nz_cpu[idx] - info.nz_cpu) * 100.0 / np.maximum(alloc_cpu, 1.0)
    free_mem = (alloc_mem - cache.nz_mem[idx] - info.nz_mem) * 100.0 / np.maximum(alloc_mem, 1.0)
    return np.floor((np.floor(np.clip(free_cpu, 0.0, 100.0)) + np.floor(np.clip(free_mem, 0.0, 100.0))) / 2)


def balanced(cache: NodeCache, info: PodInfo, idx: Index) -> np.ndarray:
    cpu = np.minimum((cache.nz_cpu[idx] + info.nz_cpu) / np.maximum(cache.alloc_cpu[idx], 1.0), 1.0)
    mem = np.minimum((cache.nz_mem[idx] + info.nz_mem) / np.maximum(cache.alloc_mem[idx], 1.0), 1.0)
    return np.floor((1.0 - np.abs(cpu - mem) / 2.0) * 100.0)


def preferred_affinity(cache: NodeCache, info: PodInfo, idx: Index, size: int) -> np.ndarray | float:
    if not info.preferred:
        return 0.0
    total = float(sum(w for w, _ in info.preferred))
    got = np.zeros(size, dtype=np.float64)
    for weight, term in info.preferred:
        got += weight * term_mask(cache.labels, cache.fields, term, idx, size)
    return np.floor(got * 100.0 / total)


def taint_toleration(cache: NodeCache, info: PodInfo, idx: Index) -> np.ndarray:
    prefer = cache.taints.table(info.tolerations).prefer[cache.taintset[idx]]
    return np.floor(100.0 / (1.0 + prefer))


def spread(cache: NodeCache, info: PodInfo, idx: Index) -> np.ndarray | float:
    if info.owner is None:
        return 0.0
    counts = cache.owners.get(info.owner)
    if counts is None:
        return 100.0
    return np.floor(100.0 / (1.0 + counts[idx]))


def score(
    cache: NodeCache, info: PodInfo, idx: Index, size: int, weights: Weights = DEFAULT_WEIGHTS
) -> np.ndarray:
    """The weighted total for the slots ``idx`` (feasibility is not checked here)."""
    total = weights.least_allocated * least_allocated(cache, info, idx)
    total += weights.balanced * balanced(cache, info, idx)
    total += weights.taint_toleration * taint_toleration(cache, info, idx)
    if info.preferred:
        total += weights.node_affinity * preferred_affinity(cache, info, idx, size)
    if info.owner is not None:
        total += weights.spread * spread(cache, info, idx)
    return total


def score_at(cache: NodeCache, info: PodInfo, i: int, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """:func:`score` for one slot, with Python floats (the same IEEE operations, the same result).

    Must agree with the vectorised scores exactly (tests/unit/scheduler/test_incremental.py)."""
    alloc_cpu = cache.alloc_cpu.item(i)
    alloc_mem = cache.alloc_mem.item(i)
    used_cpu = cache.nz_cpu.item(i) + info.nz_cpu
    used_mem = cache.nz_mem.item(i) + info.nz_mem
    free_cpu = min(max((alloc_cpu - used_cpu) * 100.0 / max(alloc_cpu, 1.0), 0.0), 100.0)
    free_mem = min(max((alloc_mem - used_mem) * 100.0 / max(alloc_mem, 1.0), 0.0), 100.0)
    least = math.floor((math.floor(free_cpu) + math.floor(free_mem)) / 2)
    frac_cpu = min(used_cpu / max(alloc_cpu, 1.0), 1.0)
    frac_mem = min(used_mem / max(alloc_mem, 1.0), 1.0)
    bal = math.floor((1.0 - abs(frac_cpu - frac_mem) / 2.0) * 100.0)
    prefer = cache.taints.table(info.tolerations).prefer.item(cache.taintset.item(i))
    total = weights.least_allocated * least + weights.balanced * bal
    total += weights.taint_toleration * math.floor(100.0 / (1.0 + prefer))
    if info.preferred:
        total += weights.node_affinity * float(preferred_affinity(cache, info, np.array([i]), 1)[0])
    if info.owner is not None:
        counts = cache.owners.get(info.owner)
        total += weights.spread * (100.0 if counts is None else math.floor(100.0 / (1.0 + counts.item(i))))
    return float(total)
