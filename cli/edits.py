"""``label`` and ``annotate`` arguments (``k=v``, ``k-``) and the merge patch they make. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import BadRequest


@dataclass
class KeyEdits:
    set: dict[str, str] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)


def split_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """Resource words and ``k=v``/``k-`` edits (edits are the trailing args that look like one)."""
    resources: list[str] = []
    edits: list[str] = []
    for arg in args:
        if resources and ("=" in arg or arg.endswith("-")):
            edits.append(arg)
        elif edits:
            raise BadRequest(f"all resources must be specified before the changes: {arg}")
        else:
            resources.append(arg)
    return resources, edits


def parse_edits(edits: Sequence[str], what: str = "label") -> KeyEdits:
    out = KeyEdits()
    for edit in edits:
        if "=" in edit:
            key, _, value = edit.partition("=")
            if not key:
                raise BadRequest(f"invalid {what} spec: {edit}")
            out.set[key] = value
        elif edit.endswith("-") and len(edit) > 1:
            out.remove.append(edit[:-1])
        else:
            raise BadRequest(f"invalid {what} spec: {edit}")
    both = set(out.set) & set(out.remove)
    if both:
        keys = ", ".join(sorted(both))
        raise BadRequest(f"can not both modify and remove the following {what}(s) in one command: {keys}")
    if not out.set and not out.remove:
        raise BadRequest(f"at least one {what} update is required")
    return out


def edit_patch(
    current: dict[str, str] | None, edits: KeyEdits, field_name: str, overwrite: bool, what: str = "label"
) -> dict[str, Any] | None:
    """The merge patch for ``metadata.<field_name>``; None when nothing changes.

    kubectl refuses to change an existing key without ``--overwrite``.
    """
    current = current or {}
    changes: dict[str, Any] = {}
    for key, value in edits.set.items():
        if key in current and current[key] != value and not overwrite:
            raise BadRequest(f"'{key}' already has a value ({current[key]}), and --overwrite is false")
        if current.get(key) != value:
            changes[key] = value
    for key in edits.remove:
        if key in current:
            changes[key] = None
    if not changes:
        return None
    return {"metadata": {field_name: changes}}
