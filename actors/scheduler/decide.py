"""The scheduling decision: filters, scores and the tie-break, with no I/O.

``Scheduler(cache).decide(pod)`` returns a :class:`Decision`: the chosen node, or ``None`` with the
reasons every node refused the pod (the FailedScheduling message, :attr:`Decision.message`).
``Scheduler.schedule(pod)`` also *assumes* the pod on the chosen node in the cache, so the next
decision sees it; the actor calls it for each pod of a batch and :meth:`NodeCache.forget` when the
bind fails.

Cost. Pods with the same :attr:`PodInfo.class_key` (the replicas of one controller, typically)
share a vector of per-node totals (``-1`` where the pod does not fit). The vector is computed over
all nodes once, then kept current by recomputing only the node slots the cache's change log names
(usually the one node the previous replica went to), so a pod costs a few small numpy operations
plus a ``max`` over the nodes, whatever the cluster size. The vectors are kept for the most recently
used classes. Rules that depend on where other pods are (inter-pod affinity, topology spread) cannot
live in those vectors: they are applied on top at each decision, and skipped when they concern
neither the pod nor any pod placed (:func:`placement_ok`).

Ties. Kubernetes picks at random among the nodes with the best score (reservoir sampling); so does
this, with its own ``random.Random`` (seedable for tests).
"""

from __future__ import annotations

import random
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actors.scheduler.filters import failure_reasons, feasible, feasible_at
from actors.scheduler.interpod import interpod_ok, interpod_scores
from actors.scheduler.messages import fit_error_message
from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import PodInfo, pod_info
from actors.scheduler.scores import DEFAULT_WEIGHTS, Weights, score, score_at
from actors.scheduler.selectors import Index
from actors.scheduler.spread import spread_failures, spread_scores

_MAX_CLASSES = 128
_INFEASIBLE = -1.0
_SCALAR_LIMIT = 8  # changed slots recomputed one by one below this; vectorised above


@dataclass
class Decision:
    node_name: str | None
    reasons: Counter[str] = field(default_factory=Counter)
    num_nodes: int = 0

    @property
    def message(self) -> str:
        """The FailedScheduling message (empty when a node was chosen)."""
        if self.node_name is not None:
            return ""
        return fit_error_message(self.num_nodes, self.reasons)


@dataclass(slots=True)
class _ClassVector:
    epoch: int
    position: int
    totals: np.ndarray


def placement_ok(cache: NodeCache, info: PodInfo) -> np.ndarray | None:
    """The slots the rules about other pods allow (topology spread, inter-pod affinity); None when
    none concerns this pod, the common case."""
    allowed = interpod_ok(cache, info)
    spread = spread_failures(cache, info)
    if spread is not None:
        missing, skewed = spread
        ok = ~(missing | skewed)
        allowed = ok if allowed is None else allowed & ok
    return allowed


class Scheduler:
    """Decides pods against a :class:`NodeCache`."""

    def __init__(
        self,
        cache: NodeCache,
        *,
        weights: Weights = DEFAULT_WEIGHTS,
        rng: random.Random | None = None,
        max_classes: int = _MAX_CLASSES,
    ) -> None:
        self.cache = cache
        self.weights = weights
        self.rng = rng or random.Random()
        self._classes: OrderedDict[tuple[Any, ...], _ClassVector] = OrderedDict()
        self._max_classes = max_classes

    def decide(self, pod: dict[str, Any] | PodInfo) -> Decision:
        if not self.cache.num_nodes:  # kube-scheduler's ErrNoNodesAvailable: nothing to filter
            return Decision(None, Counter(), 0)
        info = pod if isinstance(pod, PodInfo) else pod_info(pod)
        totals = self._totals(info)
        allowed = placement_ok(self.cache, info)  # depends on where pods are: not in the class vectors
        if allowed is not None:
            totals = np.where(allowed, totals, _INFEASIBLE)
        for bonus in (interpod_scores(self.cache, info), spread_scores(self.cache, info, totals >= 0)):
            if bonus is not None:
                totals = np.where(totals >= 0, totals + bonus, totals)
        best = totals.max() if len(totals) else _INFEASIBLE
        if best < 0:
            return Decision(None, failure_reasons(self.cache, info), self.cache.num_nodes)
        ties = np.flatnonzero(totals == best)
        idx = int(ties[self.rng.randrange(len(ties))]) if len(ties) > 1 else int(ties[0])
        return Decision(self.cache.node_name(idx), Counter(), self.cache.num_nodes)

    def schedule(self, pod: dict[str, Any] | PodInfo) -> Decision:
        """Decide, and assume the pod on the chosen node."""
        if not self.cache.num_nodes:
            return Decision(None, Counter(), 0)
        info = pod if isinstance(pod, PodInfo) else pod_info(pod)
        decision = self.decide(info)
        if decision.node_name is not None:
            self.cache.assume(info, decision.node_name)
        return decision

    def totals(self, pod: dict[str, Any] | PodInfo) -> dict[str, float]:
        """Every present node's total score (``-1`` if infeasible), for tests and debugging."""
        info = pod if isinstance(pod, PodInfo) else pod_info(pod)
        totals = self._totals(info)
        return {name: float(totals[i]) for name, i in self.cache.index.items() if self.cache.present[i]}

    # --- class vectors ----------------------------------------------------------------------------

    def _evaluate(self, info: PodInfo, idx: Index, size: int) -> np.ndarray:
        ok = feasible(self.cache, info, idx, size)
        return np.where(ok, score(self.cache, info, idx, size, self.weights), _INFEASIBLE)

    def _update(self, info: PodInfo, totals: np.ndarray, changed: list[int]) -> None:
        """Recompute the changed slots: with Python scalars when few, else vectorised on the subset."""
        if len(changed) <= _SCALAR_LIMIT:
            for i in set(changed):
                ok = feasible_at(self.cache, info, i)
                totals[i] = score_at(self.cache, info, i, self.weights) if ok else _INFEASIBLE
            return
        idx = np.unique(np.fromiter(changed, dtype=np.int64, count=len(changed)))
        totals[idx] = self._evaluate(info, idx, len(idx))

    def _totals(self, info: PodInfo) -> np.ndarray:
        cache = self.cache
        key = info.class_key
        vec = self._classes.get(key)
        if vec is not None:
            self._classes.move_to_end(key)
            changed = cache.changes_since(vec.epoch, vec.position)
            if (
                changed is not None
                and len(vec.totals) == cache.capacity
                and len(changed) < cache.capacity // 4
            ):
                if changed:
                    self._update(info, vec.totals, changed)
                    vec.position = cache.position
                return vec.totals
        totals = self._evaluate(info, slice(None), cache.capacity)
        self._classes[key] = _ClassVector(cache.epoch, cache.position, totals)
        if len(self._classes) > self._max_classes:
            self._classes.popitem(last=False)
        return totals
