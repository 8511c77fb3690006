"""Topology spread constraints that must hold (``whenUnsatisfiable: DoNotSchedule``): kube-scheduler's
PodTopologySpread filter. No I/O.

For each such constraint of the new pod, the eligible nodes are those that pass its nodeSelector and
required node affinity and carry every constraint's topology key; each value of the key on them is a
domain, counting the placed pods of the pod's namespace that match the constraint's selector. A node
passes when, for every constraint, ``count(its domain) + (1 if the pod matches the selector itself)
- min(count over the domains)`` is at most ``maxSkew``, the minimum being 0 while there are fewer
domains than ``minDomains``. A node without a topology key fails with "(missing required label)".

``ScheduleAnyway`` constraints only score in Kubernetes and are not used; nor are ``matchLabelKeys``
and the node-affinity and taint policies other than their defaults.
"""

from __future__ import annotations

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


def spread_constraints(spec: dict[str, Any]) -> tuple[SpreadConstraint, ...]:
    """The pod's DoNotSchedule constraints (validated at admission; a malformed one is skipped)."""
    out = []
    for c in spec.get("topologySpreadConstraints") or ():
        if not isinstance(c, dict) or c.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
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


def spread_failures(cache: NodeCache, info: PodInfo) -> tuple[np.ndarray, np.ndarray] | None:
    """(missing a topology key, too much skew): the slots each refuses, or None without constraints."""
    constraints = info.spread
    if not constraints:
        return None
    keys = [c.topology_key for c in constraints]
    missing = np.zeros(cache.capacity, dtype=bool)
    eligible: list[int] = []
    base = cache.present if info.required is None else cache.present & cache.required_mask(info.required)
    for idx in np.flatnonzero(cache.present):
        idx = int(idx)
        if any(cache.node_label(idx, key) is None for key in keys):
            missing[idx] = True
        elif base[idx]:
            eligible.append(idx)
    labels = info.labels_map
    placed = list((cache.pods_by_namespace.get(info.namespace) or {}).values())
    skewed = np.zeros(cache.capacity, dtype=bool)
    eligible_set = set(eligible)
    for c in constraints:
        counts: dict[str, int] = {}
        for idx in eligible:
            counts.setdefault(cache.node_label(idx, c.topology_key) or "", 0)
        for rec in placed:
            if rec.idx in eligible_set and c.selector.matches(rec.info.labels_map):
                value = cache.node_label(rec.idx, c.topology_key) or ""
                counts[value] = counts.get(value, 0) + 1
        if not counts:
            continue
        lowest = min(counts.values()) if len(counts) >= c.min_domains else 0
        own = 1 if c.selector.matches(labels) else 0
        for idx in np.flatnonzero(cache.present & ~missing):
            value = cache.node_label(int(idx), c.topology_key) or ""
            if counts.get(value, 0) + own - lowest > c.max_skew:
                skewed[int(idx)] = True
    return missing, skewed
