"""normalize: a manifest in, the canonical stored dict out (or BadRequest / Invalid).

The steps, in Kubernetes' order:

1. ``apiVersion``/``kind`` name a served resource (BadRequest otherwise, in kubectl's words);
2. the dict is copied (``None`` values dropped, YAML timestamps turned back into RFC 3339 text);
3. an older group version is converted to the storage version with that version's defaults
   (schemas.convert);
4. structural check against the pydantic model: unknown fields, wrong types, missing required
   fields (Invalid, paths in kubectl's spelling);
5. Kubernetes' defaults (schemas.defaults), including ``metadata.namespace``;
6. semantic rules (schemas.validation): names, labels, ports, duplicates, selectors ... (Invalid).

The result keeps every field the user wrote (except Secret ``stringData``, which Kubernetes merges
into ``data`` and never stores), adds the defaults, and keeps ``status`` when given. The input is
never changed.

Cost: one recursive copy, one pydantic validation (compiled once per model at import), and plain
dict walks: about 19 µs for a small Pod and 48 µs for the seed Deployment on this machine.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from pydantic import ValidationError

from schemas import convert, defaults, registry
from schemas.errors import BadRequest, Invalid
from schemas.validation import errors_for
from schemas.validation.structural import path_of, translate


def _text_time(v: _dt.date) -> str:
    if isinstance(v, _dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(_dt.UTC).replace(tzinfo=None)
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    return v.isoformat()


def clean_copy(value: Any) -> Any:
    """A deep copy of plain data with ``None`` values in mappings dropped (Kubernetes' omitempty)."""
    t = type(value)
    if t is dict:
        return {k: clean_copy(v) for k, v in value.items() if v is not None}
    if t is list:
        return [clean_copy(v) for v in value]
    if t is str or t is int or t is bool or t is float:
        return value
    if isinstance(value, dict):
        return {k: clean_copy(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [clean_copy(v) for v in value]
    if isinstance(value, _dt.date):
        return _text_time(value)
    return value


def _name_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        name = meta.get("name") or meta.get("generateName") or ""
        return name if isinstance(name, str) else ""
    return ""


def resource_info(obj: Any) -> registry.ResourceInfo:
    """The served resource an object's ``apiVersion``/``kind`` name. BadRequest otherwise."""
    if not isinstance(obj, dict):
        raise BadRequest(f"the object must be a mapping, not {type(obj).__name__}")
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    missing = [f"{k} not set" for k, v in (("apiVersion", api_version), ("kind", kind)) if not v]
    if missing:
        raise BadRequest(f"error validating data: [{', '.join(missing)}]")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise BadRequest("error validating data: apiVersion and kind must be strings")
    info, served = registry.by_api_version_kind(api_version, kind)
    if not served:
        raise BadRequest(registry.no_match_message(api_version, kind))
    return info


FIELD_VALIDATIONS = ("Ignore", "Strict", "Warn")


def check_field_validation(value: Any) -> str | None:
    """A request's ``fieldValidation``: one of Kubernetes' three, or None (the api's own default)."""
    if value in (None, ""):
        return None
    if value not in FIELD_VALIDATIONS:
        raise BadRequest(
            f'fieldValidation: Unsupported value: "{value}": supported values: "Ignore", "Strict", "Warn"'
        )
    return str(value)


def _drop(work: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    """Remove the field at ``loc`` (a pydantic error's location); False if it is not there."""
    node: Any = work
    for part in loc[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False
    if isinstance(node, dict) and loc and loc[-1] in node:
        del node[loc[-1]]
        return True
    return False


def _validate_fields(
    info: registry.ResourceInfo,
    work: dict[str, Any],
    api_version: str,
    field_validation: str | None,
    warnings: list[str] | None,
) -> None:
    """The structural check, with Kubernetes' ``fieldValidation`` for unknown fields: ``Strict``
    refuses them as strict decoding does (400), ``Warn`` drops each with a warning, ``Ignore`` drops
    them silently; None (the NATS api's default) reports them among the other causes (422)."""
    for _round in range(4):  # dropping a field never adds one; a few rounds cover nested models
        try:
            info.model.model_validate(work)
            return
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False)
            unknown = [tuple(e["loc"]) for e in errors if e["type"] == "extra_forbidden"]
            if not unknown or field_validation is None:
                raise Invalid(info.kind, _name_of(work), translate(exc)) from None
            paths = [path_of(loc) for loc in unknown]
            if field_validation == "Strict":
                version = api_version.rsplit("/", 1)[-1]
                listed = ", ".join(f'unknown field "{p}"' for p in paths)
                raise BadRequest(
                    f'{info.kind} in version "{version}" cannot be handled as a {info.kind}: '
                    f"strict decoding error: {listed}"
                ) from None
            if not all(_drop(work, loc) for loc in unknown):
                raise Invalid(info.kind, _name_of(work), translate(exc)) from None
            if field_validation == "Warn" and warnings is not None:
                texts = (f'unknown field "{p}"' for p in paths)
                warnings.extend(t for t in texts if t not in warnings)
    info.model.model_validate(work)


def normalize(
    obj: dict[str, Any],
    *,
    default_namespace: str | None = "default",
    field_validation: str | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Parse, convert to the storage version, default and validate; the canonical dict.

    Raises BadRequest (missing or unknown apiVersion/kind; an unknown field under
    ``field_validation="Strict"``) or Invalid (causes name each field). ``Warn``/``Ignore`` drop
    unknown fields (``Warn`` adds ``unknown field "spec.foo"`` to ``warnings``).
    """
    info = resource_info(obj)
    work: dict[str, Any] = clean_copy(obj)
    sent_version = str(work["apiVersion"])
    if work["apiVersion"] != info.api_version:
        convert.to_storage(work, info)
    _validate_fields(info, work, sent_version, field_validation, warnings)
    defaults.metadata(work, namespaced=info.namespaced, default_namespace=default_namespace)
    if info.custom is not None:  # a CRD's kind: pruned, defaulted and checked by its schema
        from schemas.crd import admit
        from schemas.validation.core import custom_meta_errors

        work, causes = admit(work, info)
        custom_meta_errors(work, info.namespaced, causes)
        if causes:
            raise Invalid(info.kind, _name_of(work), causes)
        return work
    defaults.apply(info.kind, work)
    causes = errors_for(info.kind, work)
    if causes:
        raise Invalid(info.kind, _name_of(work), causes)
    return work


def validate(obj: dict[str, Any]) -> None:
    """Only check (no result): raises as :func:`normalize` does."""
    normalize(obj)
