"""Patches, as the api actor applies them and as ``jetkube apply`` computes them. Pure: no I/O.

Three patch types, named as kubectl names them (``--type``):

- ``merge``: JSON merge patch (RFC 7386). Maps merge recursively, ``null`` deletes a key, any other
  value (lists included) replaces.
- ``json``: JSON patch (RFC 6902), a list of operations, applied by the ``jsonpatch`` library.
- ``strategic``: Kubernetes' strategic merge patch. Like a merge patch, except that some lists are
  merged element by element on a *merge key* (containers by ``name``, container ports by
  ``containerPort``, conditions by ``type`` ...; the table is :data:`MERGE_KEYS`) and a few lists of
  strings are merged as sets (``finalizers``). Directives: ``$patch: replace|delete`` in a map or as
  a list element, ``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>`` and
  ``$retainKeys``. Kubernetes reads merge keys from struct tags; here they come from a table keyed by
  the field name (and, for ``ports``, by where the list sits), which covers every kind jetkube has.

:func:`three_way_merge` computes what ``kubectl apply`` sends: a strategic patch from the last
applied configuration, the new configuration and the live object, which removes the fields dropped
from the file since the last apply and leaves alone the fields that others set.

Every malformed patch is a :class:`~schemas.errors.BadRequest` whose message names the problem.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any, Literal

import jsonpatch

from schemas.errors import BadRequest, RequestEntityTooLarge

PatchType = Literal["merge", "json", "strategic"]

MAX_JSON_PATCH_OPERATIONS = 10_000  # kube-apiserver's maxJSONPatchOperations
MAX_COPY_BYTES = 3 * 1024 * 1024  # what a JSON patch's copies may duplicate in all (2x an object)

PATCH_TYPES: dict[str, PatchType] = {
    "merge": "merge",
    "json": "json",
    "strategic": "strategic",
    # The Content-Type spellings, as an HTTP-minded caller may send them.
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
}

# field name -> merge key(s). A tuple of several fields is a composite key.
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
    "taints": ("key", "effect"),
    "addresses": ("type",),
    "hostAliases": ("ip",),
    "resourceClaims": ("name",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "secrets": ("name",),
}
_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})

# Lists of scalars merged as sets.
SET_LISTS: frozenset[str] = frozenset({"finalizers"})

_DIRECTIVE = "$patch"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_SET_ORDER = "$setElementOrder/"
_RETAIN_KEYS = "$retainKeys"


def merge_key_for(path: Sequence[str], field: str) -> tuple[str, ...] | None:
    """The merge key of the list ``field`` found under ``path`` (field names only, no indices)."""
    if field == "ports":
        # A container's ports merge on containerPort, a Service's on port.
        return ("containerPort",) if any(p in _CONTAINER_LISTS for p in path) else ("port",)
    return MERGE_KEYS.get(field)


# --------------------------------------------------------------------------------------------------
# Entry point


def apply_patch(obj: dict[str, Any], patch: Any, patch_type: str = "strategic") -> dict[str, Any]:
    """Return a new object: ``obj`` with ``patch`` applied. ``obj`` is not changed."""
    kind = PATCH_TYPES.get(patch_type)
    if kind is None:
        raise BadRequest(f'unknown patch type "{patch_type}": use one of json, merge, strategic')
    if isinstance(patch, (str, bytes)):
        try:
            patch = json.loads(patch)
        except ValueError as exc:
            raise BadRequest(f"the patch is not valid JSON: {exc}") from None
    if kind == "json":
        return json_patch(obj, patch)
    if not isinstance(patch, dict):
        raise BadRequest(f"a {kind} merge patch must be a JSON object, not {_type_name(patch)}")
    if kind == "merge":
        return merge_patch(obj, patch)
    return strategic_merge_patch(obj, patch)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------------------------------
# RFC 7386 and RFC 6902


def merge_patch(target: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(obj: dict[str, Any], patch: Any) -> dict[str, Any]:
    """JSON patch (RFC 6902), one operation at a time, its work bounded while applying (as
    kube-apiserver since CVE-2019-1002100): at most :data:`MAX_JSON_PATCH_OPERATIONS` operations,
    and the values its ``copy`` operations duplicate at most :data:`MAX_COPY_BYTES` in all, counted
    before each copy is made (k copies of a map into itself would otherwise make 2^k nodes)."""
    if not isinstance(patch, list):
        raise BadRequest(f"a json patch must be a JSON list of operations, not {_type_name(patch)}")
    if len(patch) > MAX_JSON_PATCH_OPERATIONS:
        raise RequestEntityTooLarge(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(patch)}"
        )
    doc: Any = copy.deepcopy(obj)
    copied = 0
    try:
        for i, operation in enumerate(patch):
            if (
                isinstance(operation, dict)
                and operation.get("op") == "copy"
                and isinstance(operation.get("from"), str)
            ):
                source = jsonpatch.JsonPointer(operation["from"]).resolve(doc)
                copied += bounded_size(source, MAX_COPY_BYTES - copied)
                if copied > MAX_COPY_BYTES:
                    raise RequestEntityTooLarge(
                        f"the json patch's copy operations (the one at [{i}] and before) would copy more "
                        f"than {MAX_COPY_BYTES} bytes; the limit bounds the work of applying a patch"
                    )
            doc = jsonpatch.JsonPatch([operation]).apply(doc, in_place=True)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise BadRequest(f"the json patch's test failed: {exc}") from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise BadRequest(f"the json patch cannot be applied: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise BadRequest(f"the json patch is malformed: {exc}") from None
    return doc  # type: ignore[no-any-return]


def bounded_size(value: Any, budget: int) -> int:
    """About the JSON size of ``value`` in bytes, counted only up to ``budget`` (then budget + 1):
    the cost of measuring is bounded by the budget, not by the value."""
    size = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            size += 2 + len(item)
            for k, v in item.items():
                size += len(k) + 3 if isinstance(k, str) else 8
                stack.append(v)
        elif isinstance(item, list):
            size += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, str | bytes):
            size += len(item) + 2
        else:
            size += 8
        if size > budget:
            return budget + 1
    return size


# --------------------------------------------------------------------------------------------------
# Strategic merge patch


def strategic_merge_patch(obj: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Kubernetes' strategic merge patch over plain dicts (see the module docstring)."""
    result = _merge_map(obj if isinstance(obj, dict) else {}, patch, ())
    return result if isinstance(result, dict) else {}


class _Deleted:
    """Marker: a ``$patch: delete`` map removes itself from its parent."""


_DELETED = _Deleted()


def _merge_map(current: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...]) -> Any:
    directive = patch.get(_DIRECTIVE)
    if directive is not None:
        if directive == "delete":
            return _DELETED
        if directive == "replace":
            rest = {k: v for k, v in patch.items() if k != _DIRECTIVE}
            return _merge_map({}, rest, path)
        if directive != "merge":
            raise BadRequest(f'unknown $patch directive "{directive}" at {_where(path)}')
    result = copy.deepcopy(current)
    retain = patch.get(_RETAIN_KEYS)
    if retain is not None:
        if not isinstance(retain, list):
            raise BadRequest(f"$retainKeys must be a list at {_where(path)}")
        result = {k: v for k, v in result.items() if k in retain}
    orders: dict[str, Any] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN_KEYS):
            continue
        if key.startswith(_SET_ORDER):
            orders[key[len(_SET_ORDER) :]] = value
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if not isinstance(value, list):
                raise BadRequest(f"{key} must be a list at {_where(path)}")
            if isinstance(result.get(field), list):
                drop = {_ident(x) for x in value}
                result[field] = [x for x in result[field] if _ident(x) not in drop]
            continue
        if value is None:
            result.pop(key, None)
            continue
        merged = _merge_value(result.get(key), value, path, key)
        if merged is _DELETED:
            result.pop(key, None)
        else:
            result[key] = merged
    for field, order in orders.items():
        if isinstance(result.get(field), list) and isinstance(order, list):
            result[field] = _set_order(result[field], order, merge_key_for(path, field))
    return result


def _merge_value(current: Any, patch: Any, path: tuple[str, ...], key: str) -> Any:
    sub = (*path, key)
    if isinstance(patch, dict):
        return _merge_map(current if isinstance(current, dict) else {}, patch, sub)
    if isinstance(patch, list):
        mkey = merge_key_for(path, key)
        if mkey is not None:
            return _merge_keyed_list(current if isinstance(current, list) else [], patch, sub, mkey)
        if key in SET_LISTS:
            base = current if isinstance(current, list) else []
            have = {_ident(x) for x in base}
            return base + [x for x in patch if _ident(x) not in have]
        return [_strip_directives(x) for x in patch]
    return patch


def _key_of(element: dict[str, Any], mkey: tuple[str, ...]) -> tuple[Any, ...] | None:
    if not all(k in element for k in mkey):
        return None
    return tuple(element[k] for k in mkey)


def _merge_keyed_list(
    current: list[Any], patch: list[Any], path: tuple[str, ...], mkey: tuple[str, ...]
) -> list[Any]:
    field = path[-1]
    if any(isinstance(x, dict) and x.get(_DIRECTIVE) == "replace" and len(x) == 1 for x in patch):
        rest = [x for x in patch if not (isinstance(x, dict) and x.get(_DIRECTIVE) == "replace")]
        return [_strip_directives(x) for x in rest]
    # Linear: an index from each merge key to the positions holding it (it was a scan per element).
    result: list[Any] = copy.deepcopy(current)
    index: dict[str, list[int]] = {}
    for i, e in enumerate(result):
        k = _key_of(e, mkey) if isinstance(e, dict) else None
        if k is not None:
            index.setdefault(_ident(k), []).append(i)
    for element in patch:
        if not isinstance(element, dict):
            raise BadRequest(
                f"{_where(path)}: each element of {field} must be an object with the merge key "
                f"{'+'.join(mkey)}, not {_type_name(element)}"
            )
        key = _key_of(element, mkey)
        if key is None:
            shown = json.dumps(element, sort_keys=True)
            raise BadRequest(
                f"{_where(path)}: map {shown} does not contain declared merge key: {'+'.join(mkey)}"
            )
        ident = _ident(key)
        positions = index.get(ident) or []
        if element.get(_DIRECTIVE) == "delete":
            for i in index.pop(ident, []):
                result[i] = _DELETED
            continue
        if not positions:
            merged = _merge_map({}, element, path)
            if merged is not _DELETED:
                index[ident] = [len(result)]
                result.append(merged)
        else:
            merged = _merge_map(result[positions[0]], element, path)
            if merged is _DELETED:
                result[positions.pop(0)] = _DELETED
            else:
                result[positions[0]] = merged
    return [e for e in result if e is not _DELETED]


def _ident(value: Any) -> str:
    """A hashable identity of a JSON value (merge keys and list elements may be maps)."""
    return json.dumps(value, sort_keys=True, default=str)


def _set_order(items: list[Any], order: list[Any], mkey: tuple[str, ...] | None) -> list[Any]:
    def ident(x: Any) -> Any:
        if mkey is not None and isinstance(x, dict):
            return _key_of(x, mkey)
        return json.dumps(x, sort_keys=True)

    rank = {ident(x): i for i, x in enumerate(order)}
    return sorted(items, key=lambda x: rank.get(ident(x), len(rank)))


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not (k == _DIRECTIVE or k == _RETAIN_KEYS or k.startswith(("$setElementOrder/", "$delete")))
        }
    if isinstance(value, list):
        return [_strip_directives(x) for x in value]
    return value


def _where(path: Sequence[str]) -> str:
    return ".".join(path) if path else "the top level"


# --------------------------------------------------------------------------------------------------
# Three-way merge for apply

_MISSING: Any = object()


def three_way_merge(
    last_applied: dict[str, Any] | None, new_config: dict[str, Any], live: dict[str, Any]
) -> dict[str, Any]:
    """The strategic patch ``kubectl apply`` sends; ``{}`` when there is nothing to change.

    - a field in ``last_applied`` that ``new_config`` no longer has is deleted (``null``; a keyed
      list element gets ``$patch: delete``; a set-list item goes to ``$deleteFromPrimitiveList``);
    - a field of ``new_config`` that differs from ``live`` is set;
    - anything else in ``live`` (set by controllers, defaulting or other writers) is left alone.
    """
    return _diff_map(last_applied or {}, new_config, live or {}, ())


def _diff_map(
    original: dict[str, Any], modified: dict[str, Any], current: dict[str, Any], path: tuple[str, ...]
) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key in original:
        if key not in modified and key in current:
            patch[key] = None
    for key, mod in modified.items():
        cur = current.get(key, _MISSING)
        orig = original.get(key, _MISSING)
        if mod is None:
            if cur is not _MISSING:
                patch[key] = None
            continue
        if isinstance(mod, dict) and isinstance(cur, dict):
            sub = _diff_map(orig if isinstance(orig, dict) else {}, mod, cur, (*path, key))
            if sub:
                patch[key] = sub
            continue
        if isinstance(mod, list) and isinstance(cur, list):
            mkey = merge_key_for(path, key)
            if mkey is not None and all(isinstance(x, dict) for x in mod + cur):
                sub_list = _diff_keyed_list(
                    orig if isinstance(orig, list) else [], mod, cur, (*path, key), mkey
                )
                if sub_list:
                    patch[key] = sub_list
                continue
            if key in SET_LISTS:
                removed = [x for x in (orig if isinstance(orig, list) else []) if x not in mod and x in cur]
                added = [x for x in mod if x not in cur]
                if removed:
                    patch[_DELETE_PRIMITIVE + key] = removed
                if added:
                    patch[key] = added
                continue
        if mod != cur and not _subsumes(cur, mod):
            patch[key] = copy.deepcopy(mod)
    return patch


def _subsumes(current: Any, wanted: Any) -> bool:
    """``current`` is ``wanted`` plus fields the server added (defaults inside a list's elements)."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(
            k in current and _subsumes(current[k], v) for k, v in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(current, list)
            and len(current) == len(wanted)
            and all(_subsumes(c, w) for c, w in zip(current, wanted, strict=True))
        )
    return bool(current == wanted)


def _diff_keyed_list(
    original: list[Any],
    modified: list[Any],
    current: list[Any],
    path: tuple[str, ...],
    mkey: tuple[str, ...],
) -> list[Any]:
    def index(items: list[Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
        out: dict[tuple[Any, ...], dict[str, Any]] = {}
        for x in items:
            k = _key_of(x, mkey)
            if k is not None:
                out[k] = x
        return out

    orig_i, mod_i, cur_i = index(original), index(modified), index(current)
    patch: list[Any] = []
    for k in orig_i:
        if k not in mod_i and k in cur_i:
            patch.append({**dict(zip(mkey, k, strict=True)), _DIRECTIVE: "delete"})
    for element in modified:
        k = _key_of(element, mkey)
        if k is None:
            patch.append(copy.deepcopy(element))
            continue
        cur = cur_i.get(k)
        if cur is None:
            patch.append(copy.deepcopy(element))
            continue
        sub = _diff_map(orig_i.get(k, {}), element, cur, path)
        if sub:
            patch.append({**sub, **dict(zip(mkey, k, strict=True))})
    return patch
