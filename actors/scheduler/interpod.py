"""Required inter-pod affinity and anti-affinity: kube-scheduler's InterPodAffinity filter. No I/O.

A pod's ``spec.affinity.podAffinity`` / ``podAntiAffinity`` ``requiredDuringScheduling...`` terms
each name pods (a label selector, in the pod's own namespace, the listed ``namespaces``, or every
namespace for an empty ``namespaceSelector``) and a ``topologyKey``: nodes with equal values of that
node label are one domain. A node passes, as in kube-scheduler (whose order of checks decides the
reason a node is counted under), when

- it has every affinity term's topology key and, per term, a pod in its domain that matches all the
  terms, unless no pod matches anywhere and the new pod matches its own terms: the first of a group
  that wants to be together ("didn't match pod affinity rules");
- no matching pod is in its domain for any of the new pod's anti-affinity terms; a node without
  the key is not in any domain ("didn't match pod anti-affinity rules");
- no pod already placed (bound or assumed) has an anti-affinity term that matches the new pod and
  a node of the node's domain for that term's key ("didn't satisfy existing pods anti-affinity
  rules").

Preferred terms (scoring) are not used. A ``namespaceSelector`` other than ``{}`` would need the
namespaces' labels, which the scheduler does not follow: such a term counts its listed namespaces
only.
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

REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"
HARD_POD_AFFINITY_WEIGHT = 1  # kube-scheduler's hardPodAffinityWeight: placed pods' required terms
SCORE_WEIGHT = 2  # the InterPodAffinity score plugin's weight in kube-scheduler's default profile


@dataclass(frozen=True, slots=True)
class PodTerm:
    selector: Selector
    namespaces: frozenset[str] | None  # None: every namespace
    topology_key: str

    def matches(self, namespace: str, labels: dict[str, str]) -> bool:
        return (self.namespaces is None or namespace in self.namespaces) and self.selector.matches(labels)


@dataclass(frozen=True, slots=True)
class InterPodTerms:
    affinity: tuple[PodTerm, ...]
    anti: tuple[PodTerm, ...]
    preferred_affinity: tuple[tuple[int, PodTerm], ...] = ()  # (weight, term)
    preferred_anti: tuple[tuple[int, PodTerm], ...] = ()

    @property
    def required(self) -> bool:
        return bool(self.affinity or self.anti)

    @property
    def scores(self) -> bool:
        """Whether placing this pod changes other pods' scores (kube-scheduler's symmetric terms)."""
        return bool(self.affinity or self.preferred_affinity or self.preferred_anti)


def _terms(items: Any, namespace: str) -> tuple[PodTerm, ...]:
    out = []
    for term in items or ():
        if not isinstance(term, dict) or not term.get("topologyKey"):
            continue
        listed = frozenset(str(n) for n in term.get("namespaces") or ())
        ns_selector = term.get("namespaceSelector")
        if (
            ns_selector is not None
            and not ns_selector.get("matchLabels")
            and not ns_selector.get("matchExpressions")
        ):
            namespaces: frozenset[str] | None = None  # {}: every namespace
        else:
            namespaces = listed or frozenset((namespace,))
        try:
            selector = selector_from_dict(term.get("labelSelector"))
        except BadRequest:  # validated at admission; a bad one matches nothing
            selector = selector_from_dict(None)
        out.append(PodTerm(selector, namespaces, str(term["topologyKey"])))
    return tuple(out)


def _weighted(items: Any, namespace: str) -> tuple[tuple[int, PodTerm], ...]:
    out = []
    for item in items or ():
        if not isinstance(item, dict):
            continue
        terms = _terms([item.get("podAffinityTerm")], namespace)
        weight = item.get("weight")
        if terms and isinstance(weight, int) and weight > 0:
            out.append((weight, terms[0]))
    return tuple(out)


def pod_terms(spec: dict[str, Any], namespace: str) -> InterPodTerms | None:
    """The pod's inter-pod terms; None when it has none (the fast path)."""
    affinity = spec.get("affinity") or {}
    together = affinity.get("podAffinity") or {}
    apart = affinity.get("podAntiAffinity") or {}
    terms = InterPodTerms(
        _terms(together.get(REQUIRED), namespace),
        _terms(apart.get(REQUIRED), namespace),
        _weighted(together.get(PREFERRED), namespace),
        _weighted(apart.get(PREFERRED), namespace),
    )
    if not (terms.required or terms.preferred_affinity or terms.preferred_anti):
        return None
    return terms


def _matching(cache: NodeCache, terms: tuple[PodTerm, ...]) -> list[int]:
    """The slots of the placed pods that match every one of ``terms``."""
    first = terms[0]
    slots = []
    for namespace in list(cache.pods_by_namespace) if first.namespaces is None else first.namespaces:
        for rec in (cache.pods_by_namespace.get(namespace) or {}).values():
            labels = rec.info.labels_map
            if all(t.matches(namespace, labels) for t in terms):
                slots.append(rec.idx)
    return slots


def _domains(cache: NodeCache, key: str, slots: list[int]) -> set[str]:
    """The values of node label ``key`` on ``slots`` (nodes without it are in no domain)."""
    return {v for idx in slots if (v := cache.node_label(idx, key)) is not None}


def _in_domains(cache: NodeCache, key: str, values: set[str] | None) -> np.ndarray:
    """Slots whose node label ``key`` is one of ``values`` (None: that have the label at all)."""
    mask = np.zeros(cache.capacity, dtype=bool)
    if values is None or values:
        for idx in cache.index.values():
            value = cache.node_label(idx, key)
            if value is not None and (values is None or value in values):
                mask[idx] = True
    return mask


def interpod_failures(cache: NodeCache, info: PodInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(affinity, anti-affinity, existing pods' anti-affinity): the slots each rule refuses, in the
    order kube-scheduler checks them, or None when no rule concerns this pod: it has no terms and
    no placed pod's anti-affinity matches it."""
    if (info.terms is None or not info.terms.required) and not cache.anti_affinity_pods:
        return None  # the common case, at no cost
    labels = info.labels_map
    existing = [
        (term, rec)
        for rec in cache.anti_affinity_pods.values()
        if rec.info.key != info.key
        for term in rec.info.terms.anti  # type: ignore[union-attr]
        if term.matches(info.namespace, labels)
    ]
    terms = info.terms if info.terms is not None and info.terms.required else None
    if terms is None and not existing:
        return None
    refused: dict[str, set[str]] = {}  # topology key -> the domains placed pods keep the new one out of
    for term, rec in existing:
        value = cache.node_label(rec.idx, term.topology_key)
        if value is not None:
            refused.setdefault(term.topology_key, set()).add(value)
    bad_existing = np.zeros(cache.capacity, dtype=bool)
    for key, values in refused.items():
        bad_existing |= _in_domains(cache, key, values)
    bad_affinity = np.zeros(cache.capacity, dtype=bool)
    bad_anti = np.zeros(cache.capacity, dtype=bool)
    if terms is not None:
        if terms.affinity:
            # as kube-scheduler counts them: a placed pod counts for the terms if it matches them all
            slots = _matching(cache, terms.affinity)
            domains = [_domains(cache, term.topology_key, slots) for term in terms.affinity]
            own = all(t.matches(info.namespace, labels) for t in terms.affinity)
            first_of_group = own and not any(domains)
            ok = np.ones(cache.capacity, dtype=bool)
            for term, values in zip(terms.affinity, domains, strict=True):
                ok &= _in_domains(cache, term.topology_key, None)
                if not first_of_group:
                    ok &= _in_domains(cache, term.topology_key, values)
            bad_affinity = ~ok
        for term in terms.anti:
            slots = _matching(cache, (term,))
            bad_anti |= _in_domains(cache, term.topology_key, _domains(cache, term.topology_key, slots))
    return bad_affinity, bad_anti, bad_existing


def interpod_ok(cache: NodeCache, info: PodInfo) -> np.ndarray | None:
    """The slots every inter-pod rule allows, or None when no rule concerns this pod."""
    failures = interpod_failures(cache, info)
    if failures is None:
        return None
    bad_affinity, bad_anti, bad_existing = failures
    ok: np.ndarray = ~(bad_affinity | bad_anti | bad_existing)
    return ok


def interpod_scores(cache: NodeCache, info: PodInfo) -> np.ndarray | None:
    """kube-scheduler's InterPodAffinity score, 0-100 over the nodes times its weight; None when no
    term is in play (then it adds the same to every node).

    Per domain: the new pod's preferred affinity terms add their weight for each placed pod they
    match there, its preferred anti-affinity terms take it away; placed pods' own terms that match
    the new pod count too (their preferred ones by weight, their required affinity by
    ``HARD_POD_AFFINITY_WEIGHT``). A node scores the sum over its domains, normalised between the
    lowest and the highest node."""
    terms = info.terms
    mine = () if terms is None else terms.preferred_affinity + tuple((-w, t) for w, t in terms.preferred_anti)
    if not mine and not cache.scoring_pods:
        return None
    topo: dict[tuple[str, str], float] = {}

    def add(key: str, idx: int, weight: float) -> None:
        value = cache.node_label(idx, key)
        if value is not None:
            topo[(key, value)] = topo.get((key, value), 0.0) + weight

    for weight, term in mine:
        for idx in _matching(cache, (term,)):
            add(term.topology_key, idx, weight)
    labels = info.labels_map
    for rec in cache.scoring_pods.values():
        theirs = rec.info.terms
        if theirs is None or rec.info.key == info.key:
            continue
        for term in theirs.affinity:
            if term.matches(info.namespace, labels):
                add(term.topology_key, rec.idx, HARD_POD_AFFINITY_WEIGHT)
        for weight, term in theirs.preferred_affinity:
            if term.matches(info.namespace, labels):
                add(term.topology_key, rec.idx, weight)
        for weight, term in theirs.preferred_anti:
            if term.matches(info.namespace, labels):
                add(term.topology_key, rec.idx, -weight)
    if not any(topo.values()):
        return None
    keys = {key for key, _value in topo}
    raw = np.zeros(cache.capacity, dtype=np.float64)
    for idx in cache.index.values():  # one pass: each node's domains looked up in ``topo``
        for key in keys:
            value = cache.node_label(idx, key)
            if value is not None:
                raw[idx] += topo.get((key, value), 0.0)
    present = raw[cache.present]
    low, high = float(present.min()), float(present.max())
    if high == low:
        return None
    scores: np.ndarray = np.floor((raw - low) * 100.0 / (high - low)) * SCORE_WEIGHT
    return scores
