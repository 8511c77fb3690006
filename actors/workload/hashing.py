"""The pod-template hash that names a Deployment's ReplicaSets (``<deploy>-<hash>``).

Kubernetes hashes the Go struct of the template with FNV-32a (plus the collision count) and writes
the decimal number through ``rand.SafeEncodeString``. jetkube hashes the template's canonical JSON
(sorted keys) the same way, so the hash is stable across processes and restarts, and encodes it with
the same alphabet; the values differ from Kubernetes' for the same template, which nothing relies on.
"""

from __future__ import annotations

import copy
import json
from typing import Any

POD_TEMPLATE_HASH = "pod-template-hash"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: each byte mapped into an alphabet with no vowels."""
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in text.encode())


def without_hash(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of a pod template without the ``pod-template-hash`` label (``EqualIgnoreHash``)."""
    out = copy.deepcopy(template or {})
    labels = (out.get("metadata") or {}).get("labels")
    if labels and POD_TEMPLATE_HASH in labels:
        del labels[POD_TEMPLATE_HASH]
    return out


def template_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    canonical = json.dumps(without_hash(template), sort_keys=True, separators=(",", ":"), default=str)
    if collision_count:
        canonical += f"#{collision_count}"
    return safe_encode(str(fnv32a(canonical.encode())))


def equal_ignore_hash(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return without_hash(a) == without_hash(b)
