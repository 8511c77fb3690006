"""Label selectors as the workload controllers use them.

Two shapes: a ReplicationController's plain map (``{app: nginx}``, equality on every key) and a
``LabelSelector`` (``matchLabels`` + ``matchExpressions`` with In/NotIn/Exists/DoesNotExist). The
matching itself is :mod:`schemas.labels`' (the one label-selector matcher); what this module adds is
the controllers' rule, as in Kubernetes: an empty or missing selector, or one that does not parse,
selects nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.errors import BadRequest
from schemas.labels import selector_from_dict, selector_from_map

Matcher = Callable[[dict[str, str] | None], bool]


def _nothing(_labels: dict[str, str] | None) -> bool:
    return False


def is_label_selector(selector: dict[str, Any]) -> bool:
    return "matchLabels" in selector or "matchExpressions" in selector


def selector_matcher(selector: dict[str, Any] | None) -> Matcher:
    """A predicate on a label map; a plain map or a LabelSelector; empty selects nothing."""
    if not selector:
        return _nothing
    if not is_label_selector(selector):
        return selector_from_map(selector).matches
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return _nothing
    try:
        return selector_from_dict(selector).matches
    except BadRequest:
        return _nothing


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}
