"""OpenAPI v3 documents generated from the pydantic models (schemas/models) and the kind registry.

``/openapi/v3`` lists one document per group version; ``/openapi/v3/api/v1`` (or
``/openapi/v3/apis/<group>/<version>``) holds its paths and schemas. kubectl reads them for two
things: ``explain`` (the schema of a kind, found by its ``x-kubernetes-group-version-kind``) and to
learn that the server validates fields itself (the ``fieldValidation`` parameter on a kind's PATCH
path), after which ``create -f``/``apply`` send ``?fieldValidation=Strict`` and leave validation to
the api. Nullable optionals (pydantic's ``anyOf [X, null]``) are written as ``X``, as Kubernetes'
schemas have them. Pure and cached: the registry does not change while a process runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from schemas.registry import ResourceInfo, all_resources, generation

QUERY_PARAMS = ("fieldValidation", "dryRun", "fieldManager")
REF = "#/components/schemas/{model}"


def _simplify(node: Any) -> Any:
    if isinstance(node, list):
        return [_simplify(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _simplify(v) for k, v in node.items() if k not in ("title", "default")}
    options = out.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1:
            out.pop("anyOf")
            inner = kept[0]
            if "$ref" in inner and len(inner) == 1:
                out["allOf"] = [inner]
            else:
                out.update(inner)
    return out


def _schema_name(info: ResourceInfo) -> str:
    return info.kind


GV = tuple[str, str]


def _gvk(info: ResourceInfo, gv: GV) -> dict[str, str]:
    return {"group": gv[0], "version": gv[1], "kind": info.kind}


def _op(info: ResourceInfo, gv: GV, action: str, schema: str) -> dict[str, Any]:
    return {
        "operationId": f"{action}{info.kind}",
        "parameters": [{"name": p, "in": "query", "schema": {"type": "string"}} for p in QUERY_PARAMS],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(info, gv),
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": REF.format(model=schema)}}},
            }
        },
    }


def _paths(info: ResourceInfo, gv: GV) -> dict[str, Any]:
    prefix = f"/apis/{gv[0]}/{gv[1]}" if gv[0] else f"/api/{gv[1]}"
    scope = f"{prefix}/namespaces/{{namespace}}" if info.namespaced else prefix
    name = _schema_name(info)
    return {
        f"{scope}/{info.plural}": {
            "get": _op(info, gv, "list", name),
            "post": _op(info, gv, "post", name),
        },
        f"{scope}/{info.plural}/{{name}}": {
            "get": _op(info, gv, "get", name),
            "put": _op(info, gv, "put", name),
            "patch": _op(info, gv, "patch", name),
            "delete": _op(info, gv, "delete", name),
        },
    }


def _group_versions() -> dict[str, list[tuple[ResourceInfo, GV]]]:
    """Every served group version (older ones too: kubectl validates a manifest at its own)."""
    out: dict[str, list[tuple[ResourceInfo, GV]]] = {}
    for info in all_resources():
        for served in info.served:
            group, _, version = served.rpartition("/")
            key = f"apis/{group}/{version}" if group else f"api/{version}"
            out.setdefault(key, []).append((info, (group, version)))
    return out


@functools.lru_cache(maxsize=128)
def _model_schema(model: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """(its definitions, its own schema), simplified; each model once, whatever its versions."""
    raw = model.model_json_schema(by_alias=True, ref_template=REF)  # type: ignore[attr-defined]
    defs = {name: _simplify(sub) for name, sub in (raw.pop("$defs", None) or {}).items()}
    return defs, _simplify(raw)


def document(path: str) -> str | None:
    """The OpenAPI v3 document of ``api/v1`` or ``apis/<group>/<version>`` as JSON, or None."""
    return _document(path, generation())


def _custom_schema(info: ResourceInfo, version: str) -> dict[str, Any]:
    """A CRD kind's schema: its ``openAPIV3Schema`` with the fields every object has."""
    from schemas.crd import schema_of

    top = dict(schema_of(info, version))
    top["properties"] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"allOf": [{"$ref": REF.format(model="ObjectMeta")}]},
        **(top.get("properties") or {}),
    }
    return top


@functools.lru_cache(maxsize=64)
def _document(path: str, _generation: int) -> str | None:
    infos = _group_versions().get(path.strip("/"))
    if not infos:
        return None
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for info, gv in infos:
        if info.custom is not None:
            defs, _ = _model_schema(info.model)  # ObjectMeta and what it refers to
            top = _custom_schema(info, gv[1])
        else:
            defs, top = _model_schema(info.model)
        for def_name, sub in defs.items():
            schemas.setdefault(def_name, sub)
        top = dict(top)
        top["x-kubernetes-group-version-kind"] = [_gvk(info, gv)]
        top.setdefault("description", (info.model.__doc__ or info.kind).strip().splitlines()[0])
        schemas[_schema_name(info)] = top
        paths.update(_paths(info, gv))
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json.dumps(doc, separators=(",", ":"))


def index() -> str:
    """``/openapi/v3``: each group version's document, addressed by its content hash."""
    return _index(generation())


@functools.lru_cache(maxsize=1)
def _index(_generation: int) -> str:
    entries = {}
    for key in sorted(_group_versions()):
        text = document(key) or ""
        digest = hashlib.sha512(text.encode()).hexdigest()[:32].upper()
        entries[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return json.dumps({"paths": entries})


def swagger() -> str:
    """``/openapi/v2``: one Swagger 2.0 document of every group version (what clients older than
    OpenAPI v3 read), made from the v3 documents: kinds named by group and version
    (``io.k8s.api.apps.v1.Deployment``), the shared definitions by model name."""
    return _swagger(generation())


def swagger_protobuf() -> bytes:
    """``/openapi/v2`` as kubectl asks for it: gnostic protobuf (openapi_pb.py)."""
    return _swagger_protobuf(generation())


@functools.lru_cache(maxsize=1)
def _swagger_protobuf(_generation: int) -> bytes:
    from actors.gateway import openapi_pb

    return openapi_pb.document(json.loads(_swagger(_generation)))


def _qualified(group: str, version: str, kind: str) -> str:
    """As Kubernetes names definitions: ``io.k8s.api.core.v1.Pod``, ``com.example.stable.v1.CronTab``."""
    if not group:
        return f"io.k8s.api.core.{version}.{kind}"
    if group.endswith(".k8s.io") or "." not in group:
        return f"io.k8s.api.{group.split('.')[0]}.{version}.{kind}"
    return f"{'.'.join(reversed(group.split('.')))}.{version}.{kind}"


def _rewrite(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_rewrite(n, names) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _rewrite(v, names) for k, v in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        out["$ref"] = f"#/definitions/{names.get(name, name)}"
    return out


def _v2_operation(op: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    out = {k: v for k, v in op.items() if k not in ("parameters", "responses")}
    out["parameters"] = [
        {"name": p["name"], "in": p["in"], "type": "string", "uniqueItems": True}
        for p in op.get("parameters") or []
    ]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    out["responses"] = {"200": {"description": "OK", "schema": _rewrite(schema, names)}}
    out["consumes"] = ["*/*"]
    out["produces"] = ["application/json", "application/yaml"]
    return out


@functools.lru_cache(maxsize=1)
def _swagger(_generation: int) -> str:
    definitions: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for key, infos in sorted(_group_versions().items()):
        text = _document(key, _generation)
        if not text:
            continue
        doc = json.loads(text)
        names = {}
        for info, (group, version) in infos:
            names[_schema_name(info)] = _qualified(group, version, info.kind)
        for name, schema in doc["components"]["schemas"].items():
            definitions.setdefault(names.get(name, name), _rewrite(schema, names))
        for path, ops in doc["paths"].items():
            paths[path] = {method: _v2_operation(op, names) for method, op in ops.items()}
    return json.dumps(
        {
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths,
            "definitions": definitions,
        },
        separators=(",", ":"),
    )
