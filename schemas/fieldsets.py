"""Field sets: the paths of an object's fields as server-side apply owns them, and Kubernetes'
``FieldsV1`` encoding of a set of paths. Pure: no I/O.

A path is a tuple of encoded elements: ``f:<field>`` (a map's field), ``k:{"name":"x"}`` (the
element of a list merged on a key: the table is :data:`schemas.patch.MERGE_KEYS`), ``v:<json>`` (a
member of a set-like list: finalizers); other lists are atomic, owned as one leaf. So
``("f:spec", "f:replicas")`` or ``("f:spec", "f:containers", 'k:{"name":"x"}', "f:image")``. In
``FieldsV1`` a ``.`` marks an element that is itself a member beside its fields.

Kubernetes ignores the same fields for ownership (:data:`IGNORED_META`): ``apiVersion``, ``kind``,
the identity and bookkeeping of ``metadata`` and, for writes of the main resource, ``status`` (a
``status`` subresource write owns only ``status``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from schemas.errors import BadRequest
from schemas.patch import SET_LISTS, merge_key_for

Path = tuple[str, ...]

#: metadata fields that no manager owns (k8s.io/apiserver fieldmanager's stripMeta)
IGNORED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generation",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)

ITEM = True  # the value recorded for a list element's own path (its presence is all that counts)


# --------------------------------------------------------------------------------------------------
# Field sets of objects


def field_values(obj: dict[str, Any] | None, *, subresource: str | None = None) -> dict[Path, Any]:
    """Every owned path of ``obj`` with its value (leaves) or :data:`ITEM` (list elements)."""
    out: dict[Path, Any] = {}
    if not isinstance(obj, dict):
        return out
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if (key == "status") != (subresource == "status"):
            continue
        if key == "metadata" and isinstance(value, dict):
            meta = {k: v for k, v in value.items() if k not in IGNORED_META}
            _walk_map(meta, ("f:metadata",), ("metadata",), out)
            continue
        _walk_value(value, (f"f:{key}",), (key,), key, out)
    return out


def field_set(obj: dict[str, Any] | None, *, subresource: str | None = None) -> set[Path]:
    return set(field_values(obj, subresource=subresource))


def _walk_map(value: dict[str, Any], path: Path, names: tuple[str, ...], out: dict[Path, Any]) -> None:
    for key, child in value.items():
        _walk_value(child, (*path, f"f:{key}"), (*names, key), key, out)


def _walk_value(value: Any, path: Path, names: tuple[str, ...], name: str, out: dict[Path, Any]) -> None:
    if isinstance(value, dict):
        if value:
            _walk_map(value, path, names, out)
        else:
            out[path] = {}
        return
    if isinstance(value, list) and value:
        keys = merge_key_for(names[:-1], name)
        if keys and all(isinstance(e, dict) and all(k in e for k in keys) for e in value):
            for element in value:
                item = (*path, key_element(element, keys))
                out[item] = ITEM
                _walk_map({k: v for k, v in element.items()}, item, names, out)
            return
        if name in SET_LISTS and all(not isinstance(e, (dict, list)) for e in value):
            for element in value:
                out[(*path, "v:" + _json(element))] = ITEM
            return
    out[path] = value  # a scalar, an atomic list, null


def key_element(element: dict[str, Any], keys: Iterable[str]) -> str:
    return "k:" + _json({k: element[k] for k in sorted(keys)})


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


# --------------------------------------------------------------------------------------------------
# FieldsV1


def encode_fields(paths: Iterable[Path]) -> dict[str, Any]:
    """The ``fieldsV1`` tree of a set of paths (``.`` marks a member that has fields under it)."""
    members = set(paths)
    tree: dict[str, Any] = {}
    for path in members:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return _sorted_tree(tree, members, ())


def _sorted_tree(node: dict[str, Any], members: set[Path], path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if path and node and path in members:
        out["."] = {}
    for element in sorted(node):
        out[element] = _sorted_tree(node[element], members, (*path, element))
    return out


def decode_fields(tree: Any) -> set[Path]:
    """The paths of a ``fieldsV1`` tree; a malformed tree is a BadRequest."""
    out: set[Path] = set()
    if tree is None:
        return out
    if not isinstance(tree, dict):
        raise BadRequest("metadata.managedFields.fieldsV1: Invalid value: must be an object")
    stack: list[tuple[Path, dict[str, Any]]] = [((), tree)]
    while stack:
        path, node = stack.pop()
        for element, child in node.items():
            if element == ".":
                out.add(path)
                continue
            if not isinstance(child, dict) or element[:2] not in ("f:", "k:", "v:", "i:"):
                raise BadRequest(
                    f'metadata.managedFields.fieldsV1: Invalid value: "{element}": '
                    "must be an f:, k:, v: or i: element holding an object"
                )
            here = (*path, element)
            if child:
                stack.append((here, child))
            else:
                out.add(here)
    return out


def path_string(path: Path) -> str:
    """A path as Kubernetes prints it in conflicts: ``.spec.containers[name="x"].image``."""
    parts: list[str] = []
    for element in path:
        kind, text = element[:2], element[2:]
        if kind == "f:":
            parts.append("." + text)
        elif kind == "k:":
            try:
                keys = json.loads(text)
                parts.append("[" + ",".join(f"{k}={_json(v)}" for k, v in sorted(keys.items())) + "]")
            except (ValueError, AttributeError):
                parts.append("[" + text + "]")
        elif kind == "v:":
            parts.append("[=" + text + "]")
        else:
            parts.append("[" + text + "]")
    return "".join(parts)
