"""Topology spread constraints that must hold (``whenUnsatisfiable: DoNotSchedule``): kube-scheduler's
PodTopologySpread filter. No I/O.

For each such constraint of the new pod, the eligible nodes are those that pass its nodeSelector and
required node affinity and carry every constraint's topology key; each value of the key on them is a
domain, counting the placed pods of the pod's namespace that match the constraint's selector. A node
passes when, for every constraint, ``count(its domain) + (1 if the pod matches the selector itself)
- min(count over the domains)`` is at most ``maxSkew``, the minimum being 0 while there are fewer
domains than ``minDomains``. A node without a topology key fails with "(missing required label)".

``ScheduleAnyway`` constraints score (:func:`spread_scores`, kube-scheduler's PodTopologySpread
score): per constraint, a node's domain counts ``matching pods * log(domains + 2) + maxSkew - 1``;
the fewer, the better, normalised over the feasible nodes that have every key (those without score
0). ``matchLabelKeys`` and the node-affinity and taint policies other than their defaults are not
used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from schemas.errors import BadRequest
from schemas.labels import Selector, selector_from_dict

if TYPE_CHECKING:
    from actors.scheduler.nodeinfo import NodeCache
    from actors.scheduler.podinfo import PodInfo


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int


def spread_constraints(spec: dict[str, Any], when: str = "DoNotSchedule") -> tuple[SpreadConstraint, ...]:
    """The pod's constraints of one kind (validated at admission; a malformed one is skipped)."""
    out = []
    for c in spec.get("topologySpreadConstraints") or ():
        if not isinstance(c, dict) or c.get("whenUnsatisfiable", "DoNotSchedule") != when:
            continue
        try:
            selector = selector_from_dict(c.get("labelSelector"))
            out.append(
                SpreadConstraint(
                    max_skew=max(1, int(c.get("maxSkew") or 1)),
                    topology_key=str(c["topologyKey"]),
                    selector=selector,
                    min_domains=max(1, int(c.get("minDomains") or 1)),
                )
            )
        except (KeyError, TypeError, ValueError, BadRequest):
            continue
    return tuple(out)


def _keyed(cache: NodeCache, slots: np.ndarray, keys: list[str]) -> list[int]:
    """The ``slots`` whose node carries every one of ``keys``."""
    slot_list = [int(i) for i in np.flatnonzero(slots)]
    return [i for i in slot_list if all(cache.node_label(i, k) is not None for k in keys)]


def _usable(cache: NodeCache, info: PodInfo) -> np.ndarray:
    """The nodes the pod's nodeSelector and required node affinity allow (those make domains)."""
    if info.required is None:
        return cache.present
    allowed: np.ndarray = cache.present & cache.required_mask(info.required)
    return allowed


def _domain_counts(
    cache: NodeCache, c: SpreadConstraint, placed: list[Any], on: set[int], domains: set[str]
) -> dict[str, int]:
    """Per domain of ``domains``: the placed pods on the ``on`` slots that match ``c``'s selector."""
    counts = dict.fromkeys(domains, 0)
    for rec in placed:
        if rec.idx in on and c.selector.matches(rec.info.labels_map):
            value = cache.node_label(rec.idx, c.topology_key)
            if value in counts:
                counts[value] += 1
    return counts


def spread_failures(cache: NodeCache, info: PodInfo) -> tuple[np.ndarray, np.ndarray] | None:
    """(missing a topology key, too much skew): the slots each refuses, or None without constraints."""
    constraints = info.spread
    if not constraints:
        return None
    keyed = _keyed(cache, cache.present, [c.topology_key for c in constraints])
    missing = cache.present.copy()
    missing[keyed] = False
    usable = _usable(cache, info)
    eligible = {i for i in keyed if usable[i]}
    labels = info.labels_map
    placed = list((cache.pods_by_namespace.get(info.namespace) or {}).values())
    skewed = np.zeros(cache.capacity, dtype=bool)
    for c in constraints:
        domains = {str(cache.node_label(i, c.topology_key)) for i in eligible}
        counts = _domain_counts(cache, c, placed, eligible, domains)
        if not counts:
            continue
        lowest = min(counts.values()) if len(counts) >= c.min_domains else 0
        own = 1 if c.selector.matches(labels) else 0
        for idx in keyed:
            if counts.get(str(cache.node_label(idx, c.topology_key)), 0) + own - lowest > c.max_skew:
                skewed[idx] = True
    return missing, skewed


SCORE_WEIGHT = 2  # the PodTopologySpread score plugin's weight in kube-scheduler's default profile
MAX_NODE_SCORE = 100


def _round(x: float) -> int:
    """Go's math.Round: halves away from zero."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def spread_scores(cache: NodeCache, info: PodInfo, feasible: np.ndarray) -> np.ndarray | None:
    """The ScheduleAnyway constraints' score for the ``feasible`` slots, times the plugin's weight;
    None when the pod has none."""
    constraints = info.soft_spread
    if not constraints:
        return None
    keys = [c.topology_key for c in constraints]
    candidates = _keyed(cache, feasible, keys)
    if not candidates:
        return None
    counted = set(_keyed(cache, _usable(cache, info), keys))
    placed = list((cache.pods_by_namespace.get(info.namespace) or {}).values())
    raw: dict[int, float] = dict.fromkeys(candidates, 0.0)
    for c in constraints:
        domains = {str(cache.node_label(i, c.topology_key)) for i in candidates}
        weight = math.log(len(domains) + 2)
        counts = _domain_counts(cache, c, placed, counted, domains)
        for i in candidates:
            raw[i] += counts[str(cache.node_label(i, c.topology_key))] * weight + (c.max_skew - 1)
    rounded = {i: _round(v) for i, v in raw.items()}
    low, high = min(rounded.values()), max(rounded.values())
    scores = np.zeros(cache.capacity, dtype=np.float64)
    for i, v in rounded.items():
        scores[i] = MAX_NODE_SCORE if high == 0 else (MAX_NODE_SCORE * (high + low - v)) // high
    return scores * SCORE_WEIGHT
