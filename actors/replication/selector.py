"""Label selectors as the workload controllers use them.

Two shapes: a ReplicationController's plain map (``{app: nginx}``, equality on every key) and a
``LabelSelector`` (``matchLabels`` + ``matchExpressions`` with In/NotIn/Exists/DoesNotExist). As
in Kubernetes, an empty or missing selector selects nothing for a controller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, str] | None], bool]


def _expression_matches(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key = expr.get("key", "")
    op = expr.get("operator", "")
    values = expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def is_label_selector(selector: dict[str, Any]) -> bool:
    return "matchLabels" in selector or "matchExpressions" in selector


def selector_matcher(selector: dict[str, Any] | None) -> Matcher:
    """A predicate on a label map; a plain map or a LabelSelector; empty selects nothing."""
    if not selector:
        return lambda _labels: False
    if is_label_selector(selector):
        match_labels = dict(selector.get("matchLabels") or {})
        expressions = list(selector.get("matchExpressions") or [])
        if not match_labels and not expressions:
            return lambda _labels: False
    else:
        match_labels = dict(selector)
        expressions = []

    def matches(labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        if any(labels.get(k) != v for k, v in match_labels.items()):
            return False
        return all(_expression_matches(e, labels) for e in expressions)

    return matches


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}
