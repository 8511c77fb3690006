"""``jetkube apply``'s decision, pure: create the object, patch it, or leave it unchanged.

As kubectl: the applied configuration is stored in the annotation
``kubectl.kubernetes.io/last-applied-configuration``; the next apply sends the three-way strategic
patch of (last applied, new file, live object), so fields removed from the file are removed from
the object and fields that others set are kept (:func:`schemas.patch.three_way_merge`).
``apiVersion`` and ``kind`` are left out of the patch: the server stores its own version of a kind
(an ``extensions/v1beta1`` Deployment is kept as ``apps/v1``).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Literal

from schemas.patch import three_way_merge

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True)
class ApplyPlan:
    action: Literal["create", "patch", "unchanged"]
    body: dict[str, Any]  # the object to create, or the strategic patch
    missing_annotation: bool = False  # live object never applied: kubectl warns


def annotated(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with its own JSON in the last-applied annotation (without that annotation)."""
    bare = copy.deepcopy(config)
    annotations = (bare.get("metadata") or {}).get("annotations")
    if annotations:
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            del bare["metadata"]["annotations"]
    out = copy.deepcopy(bare)
    out.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = (
        json.dumps(bare, sort_keys=True, separators=(",", ":")) + "\n"
    )
    return out


def last_applied(live: dict[str, Any]) -> dict[str, Any] | None:
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def plan_apply(config: dict[str, Any], live: dict[str, Any] | None) -> ApplyPlan:
    modified = annotated(config)
    if live is None:
        return ApplyPlan("create", modified)
    original = last_applied(live)
    strip = ("apiVersion", "kind")
    patch = three_way_merge(
        {k: v for k, v in (original or {}).items() if k not in strip},
        {k: v for k, v in modified.items() if k not in strip},
        {k: v for k, v in live.items() if k not in strip},
    )
    if not patch:
        return ApplyPlan("unchanged", {}, original is None)
    return ApplyPlan("patch", patch, original is None)
