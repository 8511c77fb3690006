"""CustomResourceDefinitions (apiextensions.k8s.io/v1): their checks, and the kinds they add. No I/O.

* :func:`crd_errors` checks a CRD as Kubernetes' validation does, in its words (names, scope,
  versions with exactly one storage version, a structural ``openAPIV3Schema`` per version).
* :func:`register` turns a CRD into a :class:`~schemas.registry.ResourceInfo` that every lookup
  of this process sees from then on (``foos``, ``foo``, short names, ``foos.example.com``), with
  its printer columns; :func:`unregister` forgets it. The processes that serve CRs (the api, the
  gateway, the CLI) each call them from what they read of the cluster's CRDs.
* :func:`admit` is the custom kinds' step of :func:`schemas.decode.normalize`: unknown fields are
  pruned (unless ``x-kubernetes-preserve-unknown-fields``), ``default`` values filled in, then the
  object is checked against the schema (types, required, enum, bounds, lengths, pattern, items,
  ``x-kubernetes-int-or-string``, nullable); each broken rule names its field path.

Where jetkube differs on purpose: a CR's plural is its storage key, so a CRD may not take the
plural of a built-in kind, nor one another CRD of another group holds; versions are converted
with the ``None`` strategy only (the apiVersion is rewritten), as Kubernetes does without a
conversion webhook.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas import registry
from schemas.errors import FieldError
from schemas.models.meta import ObjectMeta

Obj = dict[str, Any]
GROUP = "apiextensions.k8s.io"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class CustomObject(BaseModel):
    """Any custom resource: only ``metadata`` is typed (the CRD's schema checks the rest)."""

    model_config = ConfigDict(extra="allow", populate_by_name=False)
    metadata: ObjectMeta | None = None


# ----------------------------------------------------------------------------- the CRD itself


def _versions(crd: Obj) -> list[Obj]:
    return [v for v in (crd.get("spec") or {}).get("versions") or [] if isinstance(v, dict)]


def storage_version(crd: Obj) -> str:
    return next((str(v["name"]) for v in _versions(crd) if v.get("storage")), "")


def crd_errors(crd: Obj, out: list[FieldError]) -> None:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = str(spec.get("group") or "")
    plural = str(names.get("plural") or "")

    def bad(path: str, value: Any, message: str) -> None:
        out.append(FieldError(path, f"Invalid value: {value!r}: {message}"))

    if not group:
        out.append(FieldError("spec.group", "Required value"))
    elif not _DNS_SUBDOMAIN.match(group) or "." not in group:
        bad("spec.group", group, "should be a domain with at least one dot")
    for field in ("plural", "kind"):
        if not names.get(field):
            out.append(FieldError(f"spec.names.{field}", "Required value"))
    for field in ("plural", "singular"):
        value = names.get(field)
        if value and not _DNS_LABEL.match(str(value)):
            bad(
                f"spec.names.{field}",
                value,
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
            )
    if names.get("kind") and not _KIND.match(str(names["kind"])):
        bad("spec.names.kind", names["kind"], "must be a valid Go identifier starting with a letter")
    for i, short in enumerate(names.get("shortNames") or []):
        if not _DNS_LABEL.match(str(short)):
            bad(f"spec.names.shortNames[{i}]", short, "a lowercase RFC 1123 label")
    name = str((crd.get("metadata") or {}).get("name") or "")
    if plural and group and name != f"{plural}.{group}":
        bad("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        out.append(
            FieldError(
                "spec.scope",
                f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"',
            )
        )
    versions = _versions(crd)
    if not versions:
        out.append(
            FieldError(
                "spec.versions", "Invalid value: must have exactly one version marked as storage version"
            )
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        out.append(
            FieldError(
                "spec.versions", "Invalid value: must have exactly one version marked as storage version"
            )
        )
    seen: set[str] = set()
    for i, v in enumerate(versions):
        vname = str(v.get("name") or "")
        if not vname or not _DNS_LABEL.match(vname):
            bad(f"spec.versions[{i}].name", vname, "must be a DNS label")
        if vname in seen:
            out.append(FieldError(f"spec.versions[{i}].name", f'Duplicate value: "{vname}"'))
        seen.add(vname)
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            out.append(
                FieldError(
                    f"spec.versions[{i}].schema.openAPIV3Schema", "Required value: schemas are required"
                )
            )
        else:
            _structural(schema, f"spec.versions[{i}].schema.openAPIV3Schema", out, root=True)
    if plural and registry.builtin(plural) is not None:
        bad("spec.names.plural", plural, "jetkube serves a built-in resource of that plural")


def _structural(schema: Obj, path: str, out: list[FieldError], *, root: bool = False) -> None:
    """A structural schema: every level says its ``type`` (unless it preserves or is int-or-string)."""
    t = schema.get("type")
    if root and t != "object":
        out.append(FieldError(f"{path}.type", 'Unsupported value: must be "object" at the root'))
    if (
        not t
        and not schema.get("x-kubernetes-preserve-unknown-fields")
        and not schema.get("x-kubernetes-int-or-string")
    ):
        out.append(
            FieldError(f"{path}.type", "Required value: must not be empty for specified object fields")
        )
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            _structural(sub, f"{path}.properties[{name}]", out)
    if isinstance(schema.get("items"), dict):
        _structural(schema["items"], f"{path}.items", out)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        _structural(extra, f"{path}.additionalProperties", out)


# ----------------------------------------------------------------------------- registration


def info_for(crd: Obj) -> registry.ResourceInfo:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = str(spec["group"])
    kind = str(names["kind"])
    served = [v for v in _versions(crd) if v.get("served", True)]
    storage = storage_version(crd)
    subresources = next((v.get("subresources") or {} for v in _versions(crd) if v.get("name") == storage), {})
    order = [f"{group}/{storage}", *(f"{group}/{v['name']}" for v in served if v["name"] != storage)]
    return registry.ResourceInfo(
        plural=str(names["plural"]),
        singular=str(names.get("singular") or kind.lower()),
        kind=kind,
        group=group,
        version=storage,
        namespaced=spec.get("scope") == "Namespaced",
        short_names=tuple(str(s) for s in names.get("shortNames") or ()),
        served=tuple(order),
        list_kind=str(names.get("listKind") or f"{kind}List"),
        model=CustomObject,
        has_status="status" in subresources,
        custom=copy.deepcopy(crd),
    )


def register(crd: Obj) -> registry.ResourceInfo:
    info = info_for(crd)
    registry.register_custom(info)
    from schemas.printing.columns import register_columns

    register_columns(info.plural, printer_columns(crd))
    return info


def unregister(name: str) -> None:
    plural = name.split(".", 1)[0]
    registry.unregister_custom(name)
    from schemas.printing.columns import register_columns

    register_columns(plural, None)


def version_of(info: registry.ResourceInfo, version: str | None = None) -> Obj:
    crd = info.custom or {}
    wanted = version or info.version
    return next((v for v in _versions(crd) if v.get("name") == wanted), {})


def schema_of(info: registry.ResourceInfo, version: str | None = None) -> Obj:
    return ((version_of(info, version).get("schema") or {}).get("openAPIV3Schema")) or {}


def subresources_of(info: registry.ResourceInfo) -> Obj:
    return version_of(info).get("subresources") or {}


def status_of(crd: Obj) -> Obj:
    """What the api writes as a new CRD's status: its names accepted and it established."""
    names = (crd.get("spec") or {}).get("names") or {}
    now = datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    accepted = {
        "plural": names.get("plural"),
        "singular": names.get("singular") or str(names.get("kind", "")).lower(),
        "kind": names.get("kind"),
        "listKind": names.get("listKind") or f"{names.get('kind')}List",
        **({"shortNames": names["shortNames"]} if names.get("shortNames") else {}),
        **({"categories": names["categories"]} if names.get("categories") else {}),
    }
    conditions = [
        {"type": t, "status": "True", "lastTransitionTime": now, "reason": r, "message": m}
        for t, r, m in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        )
    ]
    return {"acceptedNames": accepted, "conditions": conditions, "storedVersions": [storage_version(crd)]}


# ----------------------------------------------------------------------------- custom objects

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def prune(value: Any, schema: Obj) -> Any:
    """``value`` without the fields the schema does not know, and with its defaults (a copy)."""
    if schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("properties"):
        return copy.deepcopy(value)
    if isinstance(value, dict) and schema.get("type", "object") == "object":
        props: Obj = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out: Obj = {}
        for k, v in value.items():
            if k in props:
                out[k] = prune(v, props[k])
            elif isinstance(extra, dict):
                out[k] = prune(v, extra)
            elif extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                out[k] = copy.deepcopy(v)
        for k, sub in props.items():
            if k not in out and isinstance(sub, dict) and "default" in sub:
                out[k] = copy.deepcopy(sub["default"])
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(v, schema["items"]) for v in value]
    return copy.deepcopy(value)


def _type_ok(value: Any, schema: Obj) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    t = schema.get("type")
    if not t:
        return True
    if t in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(str(t), (object,)))


def check(value: Any, schema: Obj, path: str, out: list[FieldError]) -> None:
    """Every rule of ``schema`` that ``value`` (at ``path``) breaks."""
    if value is None:
        if not schema.get("nullable"):
            out.append(
                FieldError(
                    path,
                    f'Invalid value: "null": {path} in body must be of type {schema.get("type")}: "null"',
                )
            )
        return
    if not _type_ok(value, schema):
        shown = (
            type(value).__name__.replace("str", "string").replace("dict", "object").replace("list", "array")
        )
        shown = shown.replace("int", "integer").replace("float", "number").replace("bool", "boolean")
        want = "integer or string" if schema.get("x-kubernetes-int-or-string") else schema.get("type")
        out.append(
            FieldError(path, f'Invalid value: "{shown}": {path} in body must be of type {want}: "{shown}"')
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(f'"{e}"' for e in schema["enum"])
        out.append(FieldError(path, f"Unsupported value: {_show(value)}: supported values: {allowed}"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(
                FieldError(
                    path,
                    f"Invalid value: {value}: {path} in body should be greater than or equal to "
                    f"{schema['minimum']}",
                )
            )
        if "maximum" in schema and value > schema["maximum"]:
            out.append(
                FieldError(
                    path,
                    f"Invalid value: {value}: {path} in body should be less than or equal to "
                    f"{schema['maximum']}",
                )
            )
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(
                FieldError(
                    path,
                    f'Invalid value: "{value}": {path} in body should be at least '
                    f'{schema["minLength"]} chars long',
                )
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(FieldError(path, f"Too long: may not be more than {schema['maxLength']} bytes"))
        if "pattern" in schema and not re.search(str(schema["pattern"]), value):
            out.append(
                FieldError(
                    path, f"Invalid value: \"{value}\": {path} in body should match '{schema['pattern']}'"
                )
            )
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(
                FieldError(
                    path,
                    f"Invalid value: {len(value)}: {path} in body should have at least "
                    f"{schema['minItems']} items",
                )
            )
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(
                FieldError(path, f"Too many: {len(value)}: must have at most {schema['maxItems']} items")
            )
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                check(item, schema["items"], f"{path}[{i}]", out)
    if isinstance(value, dict):
        props: Obj = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                out.append(FieldError(f"{path}.{name}" if path else name, "Required value"))
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k) or (extra if isinstance(extra, dict) else None)
            if isinstance(sub, dict):
                check(v, sub, f"{path}.{k}" if path else k, out)


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def admit(obj: Obj, info: registry.ResourceInfo) -> tuple[Obj, list[FieldError]]:
    """A custom object pruned and defaulted by its schema, and the rules it breaks."""
    schema = schema_of(info)
    meta = obj.get("metadata")
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    top = {k: v for k, v in schema.items() if k != "required"}
    props = {
        k: v for k, v in (top.get("properties") or {}).items() if k not in ("apiVersion", "kind", "metadata")
    }
    pruned = prune(body, {**top, "properties": props}) if schema else body
    out: list[FieldError] = []
    if schema:
        check(
            pruned,
            {
                **schema,
                "properties": props,
                "required": [r for r in schema.get("required") or [] if r != "metadata"],
            },
            "",
            out,
        )
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta, **pruned}, out


# ----------------------------------------------------------------------------- printer columns


def printer_columns(crd: Obj) -> list[Obj] | None:
    version = next((v for v in _versions(crd) if v.get("storage")), {})
    cols = version.get("additionalPrinterColumns")
    return list(cols) if cols else None


def json_path(obj: Any, path: str) -> Any:
    """The value at a simple JSONPath (``.spec.replicas``, ``.status.conditions[0].type``)."""
    cur = obj
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path.strip().lstrip("$")):
        if part.startswith("["):
            idx = int(part[1:-1])
            cur = cur[idx] if isinstance(cur, list) and -len(cur) <= idx < len(cur) else None
        else:
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is None:
            return None
    return cur
