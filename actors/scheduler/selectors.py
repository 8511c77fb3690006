"""Node selectors and node affinity terms, evaluated over many nodes at once.

Node labels are kept as columns (:class:`LabelColumns`): for each label key, one int32 array with
the code of every node's value (``-1`` where the node lacks the key) and a vocabulary of values.
A requirement is then a handful of numpy comparisons over all nodes (or over a few node indices),
never a Python loop over nodes.

Kubernetes' semantics, as in ``k8s.io/component-helpers/scheduling/corev1/nodeaffinity``:

* ``nodeSelector`` entries are ANDed; required ``nodeSelectorTerms`` are ORed; inside a term the
  ``matchExpressions`` and ``matchFields`` are ANDed. An empty term, or an empty list of terms,
  matches no node.
* ``In``/``NotIn`` compare the value (a node without the key satisfies ``NotIn``), ``Exists``/
  ``DoesNotExist`` test the key, ``Gt``/``Lt`` compare 64-bit integers as
  :func:`schemas.affinity.parse_int64` reads them (a value that is not one does not match).
  ``matchFields`` supports ``metadata.name`` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schemas.affinity import parse_int64

Expr = tuple[str, str, tuple[str, ...]]  # key, operator, values
Term = tuple[tuple[Expr, ...], tuple[Expr, ...]]  # matchExpressions, matchFields
RequiredSig = tuple[tuple[Expr, ...], tuple[Term, ...] | None]  # nodeSelector, required terms
Index = slice | np.ndarray


def _freeze_exprs(items: Any) -> tuple[Expr, ...]:
    return tuple(
        (str(e.get("key") or ""), str(e.get("operator") or ""), tuple(str(v) for v in e.get("values") or ()))
        for e in items or ()
    )


def freeze_term(term: dict[str, Any]) -> Term:
    """A NodeSelectorTerm as a hashable tuple (the cache key of its mask)."""
    return (_freeze_exprs(term.get("matchExpressions")), _freeze_exprs(term.get("matchFields")))


class _Column:
    __slots__ = ("codes", "ints", "values", "vocab")

    def __init__(self, capacity: int) -> None:
        self.codes = np.full(capacity, -1, dtype=np.int32)
        self.vocab: dict[str, int] = {}
        self.values: list[str] = []
        self.ints: list[int | None] = []  # the integer of each value, for Gt/Lt

    def code(self, value: str) -> int:
        c = self.vocab.get(value)
        if c is None:
            c = self.vocab[value] = len(self.values)
            self.values.append(value)
            self.ints.append(parse_int64(value))
        return c


class LabelColumns:
    """Every node's labels (or fields), one column per key, indexed by node slot."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.cols: dict[str, _Column] = {}
        self._keys: list[tuple[str, ...]] = [() for _ in range(capacity)]

    def resize(self, capacity: int) -> None:
        for col in self.cols.values():
            grown = np.full(capacity, -1, dtype=np.int32)
            grown[: self.capacity] = col.codes
            col.codes = grown
        self._keys.extend(() for _ in range(capacity - self.capacity))
        self.capacity = capacity

    def set(self, idx: int, labels: dict[str, str]) -> None:
        for key in self._keys[idx]:
            if key not in labels:
                self.cols[key].codes[idx] = -1
        for key, value in labels.items():
            col = self.cols.get(key)
            if col is None:
                col = self.cols[key] = _Column(self.capacity)
            col.codes[idx] = col.code(str(value))
        self._keys[idx] = tuple(labels)

    def clear(self, idx: int) -> None:
        self.set(idx, {})

    # --- evaluation over node indices ---

    def expr(self, expr: Expr, idx: Index, size: int) -> np.ndarray:
        key, op, values = expr
        col = self.cols.get(key)
        if col is None:
            present = np.zeros(size, dtype=bool)
            if op in ("NotIn", "DoesNotExist"):
                return ~present
            return present
        codes = col.codes[idx]
        if op == "In":
            return _isin(codes, [col.vocab[v] for v in values if v in col.vocab])
        if op == "NotIn":
            return ~_isin(codes, [col.vocab[v] for v in values if v in col.vocab])
        if op == "Exists":
            return codes >= 0
        if op == "DoesNotExist":
            return codes < 0
        if op in ("Gt", "Lt") and len(values) == 1:
            bound = parse_int64(values[0])
            if bound is None:
                return np.zeros(size, dtype=bool)
            if op == "Gt":
                good = [c for c, n in enumerate(col.ints) if n is not None and n > bound]
            else:
                good = [c for c, n in enumerate(col.ints) if n is not None and n < bound]
            return _isin(codes, good)
        return np.zeros(size, dtype=bool)


def _isin(codes: np.ndarray, wanted: list[int]) -> np.ndarray:
    if not wanted:
        return np.zeros(codes.shape, dtype=bool)
    if len(wanted) == 1:
        return codes == wanted[0]
    return np.isin(codes, wanted)


def term_mask(labels: LabelColumns, fields: LabelColumns, term: Term, idx: Index, size: int) -> np.ndarray:
    exprs, field_exprs = term
    if not exprs and not field_exprs:
        return np.zeros(size, dtype=bool)
    mask = np.ones(size, dtype=bool)
    for e in exprs:
        mask &= labels.expr(e, idx, size)
    for e in field_exprs:
        mask &= fields.expr(e, idx, size) if e[0] == "metadata.name" else np.zeros(size, dtype=bool)
    return mask


def required_mask(
    labels: LabelColumns, fields: LabelColumns, sig: RequiredSig, idx: Index, size: int
) -> np.ndarray:
    """Nodes (at ``idx``) that satisfy the pod's nodeSelector and required node affinity."""
    selector, terms = sig
    mask = np.ones(size, dtype=bool)
    for e in selector:
        mask &= labels.expr(e, idx, size)
    if terms is not None:
        any_term = np.zeros(size, dtype=bool)
        for t in terms:
            any_term |= term_mask(labels, fields, t, idx, size)
        mask &= any_term
    return mask
