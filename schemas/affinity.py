"""Node affinity as the scheduler and the DaemonSet controller see it.

:func:`effective_node_affinity` merges ``spec.affinity.nodeAffinity`` with the alpha annotation the
seed uses (``scheduler.alpha.kubernetes.io/affinity``, JSON holding a ``nodeAffinity``); an
annotation that does not parse is ignored, as Kubernetes 1.5 did. Both required parts must hold:
their terms are combined as a cross product (terms are ORed, requirements inside a term ANDed).

:func:`node_selector_matches` and :func:`term_matches` evaluate a NodeSelector against a node's
labels (and ``metadata.name`` for matchFields), operators In/NotIn/Exists/DoesNotExist/Gt/Lt.
"""

from __future__ import annotations

import json
import re
from typing import Any

ALPHA_AFFINITY_ANNOTATION = "scheduler.alpha.kubernetes.io/affinity"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"

Obj = dict[str, Any]


def _annotation_affinity(pod: Obj) -> Obj | None:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(ALPHA_AFFINITY_ANNOTATION)
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except (ValueError, TypeError):
        return None
    na = parsed.get("nodeAffinity") if isinstance(parsed, dict) else None
    return na if isinstance(na, dict) else None


def _and_terms(a: list[Obj], b: list[Obj]) -> list[Obj]:
    out = []
    for ta in a:
        for tb in b:
            term: Obj = {}
            for key in ("matchExpressions", "matchFields"):
                reqs = list(ta.get(key) or ()) + list(tb.get(key) or ())
                if reqs:
                    term[key] = reqs
            out.append(term)
    return out


def effective_node_affinity(pod: Obj) -> Obj | None:
    spec_na = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity")
    ann_na = _annotation_affinity(pod)
    if not spec_na and not ann_na:
        return None
    if not ann_na:
        return spec_na  # type: ignore[no-any-return]
    if not spec_na:
        return ann_na
    merged: Obj = {}
    ra = (spec_na.get(REQUIRED) or {}).get("nodeSelectorTerms")
    rb = (ann_na.get(REQUIRED) or {}).get("nodeSelectorTerms")
    if ra and rb:
        merged[REQUIRED] = {"nodeSelectorTerms": _and_terms(ra, rb)}
    elif ra or rb:
        merged[REQUIRED] = {"nodeSelectorTerms": list(ra or rb)}
    preferred = list(spec_na.get(PREFERRED) or ()) + list(ann_na.get(PREFERRED) or ())
    if preferred:
        merged[PREFERRED] = preferred
    return merged or None


_INT64_RE = re.compile(r"[+-]?[0-9]+")


def parse_int64(text: Any) -> int | None:
    """An integer as Go's ``strconv.ParseInt(s, 10, 64)`` reads it, else None.

    Stricter than Python's ``int()``: no spaces, no underscores, no non-ASCII digits, and it must
    fit in 64 bits. Gt/Lt compare label values read this way, as Kubernetes does.
    """
    if not isinstance(text, str) or not _INT64_RE.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def requirement_matches(req: Obj, values_of: Obj) -> bool:
    """One NodeSelectorRequirement against a map of labels (or fields).

    Kubernetes' rules: a node without the key satisfies ``NotIn`` and ``DoesNotExist``; ``Gt``/``Lt``
    need exactly one value that is a 64-bit integer and a label value that is one too, or the
    requirement (and so its term) matches nothing; an unknown operator matches nothing.
    """
    key = req.get("key", "")
    op = req.get("operator")
    values = [str(v) for v in req.get("values") or ()]
    present = key in values_of
    actual = values_of.get(key)
    if op == "In":
        return present and actual in values
    if op == "NotIn":
        return not present or actual not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        have, bound = parse_int64(actual), parse_int64(values[0])
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def term_matches(term: Obj, labels: Obj, fields: Obj | None = None) -> bool:
    """One NodeSelectorTerm; an empty term matches nothing (Kubernetes)."""
    exprs = term.get("matchExpressions") or ()
    mfields = term.get("matchFields") or ()
    if not exprs and not mfields:
        return False
    if not all(requirement_matches(r, labels) for r in exprs):
        return False
    return all(requirement_matches(r, fields or {}) for r in mfields)


def node_selector_matches(node_selector: Obj, node: Obj) -> bool:
    """A NodeSelector (terms ORed) against a Node object."""
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    fields = {"metadata.name": meta.get("name", "")}
    return any(term_matches(t, labels, fields) for t in node_selector.get("nodeSelectorTerms") or ())


def required_node_affinity_matches(pod: Obj, node: Obj) -> bool:
    """``spec.nodeSelector`` and the effective required node affinity both hold on ``node``."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in ((pod.get("spec") or {}).get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    na = effective_node_affinity(pod)
    req = (na or {}).get(REQUIRED)
    return node_selector_matches(req, node) if req else True
