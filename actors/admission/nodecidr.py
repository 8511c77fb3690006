"""A Node's subnet is set once: ``spec.podCIDR(s)`` may go from empty to a value, never change or
clear (Kubernetes' ValidateNodeUpdate). The pod network hangs on it: a changed subnet would strand
the node's running pods on the old bridge."""

from __future__ import annotations

from typing import Any

from schemas.errors import FieldError, Invalid

RULE = 'Forbidden: node updates may not change podCIDR except from "" to valid'


def _cidrs(node: dict[str, Any] | None) -> list[str]:
    spec = (node or {}).get("spec") or {}
    return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))


def check_node_update(new: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Raise Invalid (nothing written) when an update changes or clears a Node's set subnet."""
    before = _cidrs(old)
    if before and _cidrs(new) != before:
        name = str((new.get("metadata") or {}).get("name") or "")
        raise Invalid("Node", name, [FieldError("spec.podCIDRs", RULE)])
