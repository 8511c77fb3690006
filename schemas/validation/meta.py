"""metadata rules: names, namespace, labels, annotations, owner references, finalizers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas import names
from schemas.errors import FieldError
from schemas.validation.errors import fmt, forbidden, invalid, required, too_long

NameCheck = Callable[[str], tuple[str, ...]]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def labels_errors(labels: dict[str, str] | None, path: str, out: list[FieldError]) -> None:
    if not labels:
        return
    for key, value in labels.items():
        for msg in names.qualified_name_errors(key):
            out.append(invalid(path, key, msg))
        for msg in names.label_value_errors(value):
            out.append(invalid(path, value, msg))


def annotations_errors(annotations: dict[str, str] | None, path: str, out: list[FieldError]) -> None:
    if not annotations:
        return
    total = 0
    for key, value in annotations.items():
        for msg in names.qualified_name_errors(key.lower()):
            out.append(invalid(path, key, msg))
        total += len(key) + len(value)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        out.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))


def object_meta_errors(
    meta: dict[str, Any] | None,
    *,
    namespaced: bool,
    name_check: NameCheck,
    out: list[FieldError],
    path: str = "metadata",
) -> None:
    """ValidateObjectMeta: a name (or generateName), namespace, labels, annotations, owners."""
    meta = meta or {}
    name = meta.get("name")
    generate = meta.get("generateName")
    if generate:
        for msg in name_check(names.mask_trailing_dash(generate)):
            out.append(invalid(f"{path}.generateName", generate, msg))
    if not name:
        if not generate:
            out.append(required(f"{path}.name", "name or generateName is required"))
    else:
        for msg in name_check(name):
            out.append(invalid(f"{path}.name", name, msg))
    ns = meta.get("namespace")
    if namespaced:
        if not ns:
            out.append(required(f"{path}.namespace"))
        else:
            for msg in names.dns1123_label_errors(ns):
                out.append(invalid(f"{path}.namespace", ns, msg))
    elif ns:
        out.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    gen = meta.get("generation")
    if gen is not None and gen < 0:
        out.append(invalid(f"{path}.generation", gen, "must be greater than or equal to 0"))
    grace = meta.get("deletionGracePeriodSeconds")
    if grace is not None and grace < 0:
        out.append(invalid(f"{path}.deletionGracePeriodSeconds", grace, "must be greater than or equal to 0"))
    labels_errors(meta.get("labels"), f"{path}.labels", out)
    annotations_errors(meta.get("annotations"), f"{path}.annotations", out)
    owners = meta.get("ownerReferences")
    if owners:
        controllers = 0
        for i, ref in enumerate(owners):
            p = f"{path}.ownerReferences[{i}]"
            for key in ("apiVersion", "kind", "name", "uid"):
                if not ref.get(key):
                    out.append(invalid(f"{p}.{key}", ref.get(key, ""), f"{key} must not be empty"))
            if ref.get("controller"):
                controllers += 1
        if controllers > 1:
            out.append(
                invalid(
                    f"{path}.ownerReferences", owners, "Only one reference can have Controller set to true"
                )
            )
    finalizers = meta.get("finalizers")
    if finalizers:
        seen: set[str] = set()
        for i, fin in enumerate(finalizers):
            for msg in names.qualified_name_errors(fin):
                out.append(invalid(f"{path}.finalizers[{i}]", fin, msg))
            if fin in seen:
                out.append(FieldError(f"{path}.finalizers[{i}]", f"Duplicate value: {fmt(fin)}"))
            seen.add(fin)


def selector_dict_errors(sel: dict[str, Any] | None, path: str, out: list[FieldError]) -> None:
    """A metav1.LabelSelector: matchLabels as labels, matchExpressions with valid operators."""
    if not sel:
        return
    labels_errors(sel.get("matchLabels"), f"{path}.matchLabels", out)
    for i, req in enumerate(sel.get("matchExpressions") or ()):
        p = f"{path}.matchExpressions[{i}]"
        op = req.get("operator")
        values = req.get("values") or []
        for msg in names.qualified_name_errors(req.get("key", "")):
            out.append(invalid(f"{p}.key", req.get("key", ""), msg))
        if op in ("In", "NotIn"):
            if not values:
                out.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                out.append(
                    forbidden(
                        f"{p}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                    )
                )
        else:
            out.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        for j, v in enumerate(values):
            for msg in names.label_value_errors(v):
                out.append(invalid(f"{p}.values[{j}]", v, msg))
