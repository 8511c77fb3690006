"""Controller references: who owns an object, and claiming (adopt / release) as ``ControllerRefManager``.

An object has at most one controller: the ownerReference with ``controller: true``. A controller
claims the objects of its namespace: those it already controls and whose labels still match stay
(or are released when they stop matching); orphans that match and are not being deleted are
adopted; objects controlled by someone else are left alone. Neither adoption nor release happens
while the owner itself is being deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actors.workload.podutil import is_terminating, meta


def controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_controlled_by(obj: dict[str, Any], owner_uid: str) -> bool:
    ref = controller_ref(obj)
    return bool(ref and ref.get("uid") == owner_uid)


@dataclass
class Claim:
    """The outcome of claiming: objects that are ours after the claim, and the changes to make."""

    owned: list[dict[str, Any]] = field(default_factory=list)  # ours, including those to adopt
    adopt: list[dict[str, Any]] = field(default_factory=list)
    release: list[dict[str, Any]] = field(default_factory=list)


def claim(
    owner: dict[str, Any],
    candidates: list[dict[str, Any]],
    matches: Callable[[dict[str, Any]], bool],
) -> Claim:
    """Sort ``candidates`` (objects of the owner's namespace) into kept, adopted and released."""
    result = Claim()
    uid = meta(owner).get("uid")
    owner_gone = is_terminating(owner)
    for obj in candidates:
        ref = controller_ref(obj)
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches(obj):
                result.owned.append(obj)
            elif not owner_gone:
                result.release.append(obj)
            continue
        if owner_gone or is_terminating(obj) or not matches(obj):
            continue
        result.adopt.append(obj)
        result.owned.append(obj)
    return result


def adopt_patch(obj: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    """A merge patch adding ``ref`` to ``obj``'s ownerReferences (guarded by its uid/resourceVersion)."""
    refs = [r for r in meta(obj).get("ownerReferences") or [] if r.get("uid") != ref.get("uid")]
    return {
        "metadata": {
            "uid": meta(obj).get("uid"),
            "resourceVersion": meta(obj).get("resourceVersion"),
            "ownerReferences": [*refs, dict(ref)],
        }
    }


def release_patch(obj: dict[str, Any], owner_uid: str) -> dict[str, Any]:
    """A merge patch removing the owner's reference from ``obj``."""
    refs = [r for r in meta(obj).get("ownerReferences") or [] if r.get("uid") != owner_uid]
    return {
        "metadata": {
            "uid": meta(obj).get("uid"),
            "resourceVersion": meta(obj).get("resourceVersion"),
            "ownerReferences": refs,
        }
    }
