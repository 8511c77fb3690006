"""``/openapi/v2`` as protobuf: the Swagger document of openapi.py in gnostic's ``openapi.v2.Document``
(github.com/google/gnostic openapiv2/OpenAPIv2.proto), the only form kubectl and client-go ask for.

kubectl reads it for its client-side schema validation, which it uses where the server cannot
validate: a ``kind: List`` file (``apply -f``/``create -f``), whose items it then sends one by one.
Encoded: the definitions (``$ref``, ``type``, ``format``, ``description``, ``required``,
``properties``, ``additionalProperties``, ``items``, ``allOf``, ``readOnly`` and the ``x-`` vendor
extensions, as gnostic keeps them: YAML text, here JSON, which is YAML; an ``allOf`` of one
reference is written as that reference) and the paths' operations (query and path parameters, the
200 response's schema, the ``x-kubernetes-*`` extensions). Not encoded: ``enum``, ``default``,
``example`` and validation bounds, which kubectl's validator does not read. Pure: a dict in, bytes
out."""

from __future__ import annotations

import json
from typing import Any

OPERATIONS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _str(field: int, text: str) -> bytes:
    return _bytes(field, text.encode()) if text else b""


def _bool(field: int, value: bool) -> bytes:
    return _varint(field << 3) + b"\x01" if value else b""


def _any(value: Any) -> bytes:
    """gnostic ``Any``: the value as YAML text (field 2); JSON is YAML."""
    return _str(2, json.dumps(value, separators=(",", ":")))


def _extensions(field: int, node: dict[str, Any]) -> bytes:
    return b"".join(
        _bytes(field, _str(1, key) + _bytes(2, _any(value)))
        for key, value in node.items()
        if key.startswith("x-")
    )


def schema(node: dict[str, Any]) -> bytes:
    """gnostic ``Schema``. ``allOf`` of one ``$ref`` (how openapi.py writes an optional reference)
    becomes that ``$ref``, as Kubernetes writes it: kubectl's parser takes a bare ``allOf`` for an
    arbitrary value and would not validate under it."""
    parts = node.get("allOf")
    if isinstance(parts, list) and len(parts) == 1 and "$ref" in parts[0] and "$ref" not in node:
        node = {**{k: v for k, v in node.items() if k != "allOf"}, "$ref": parts[0]["$ref"]}
    out = bytearray()
    out += _str(1, str(node.get("$ref", "")))
    out += _str(2, str(node.get("format", "")))
    out += _str(4, str(node.get("description", "")))
    for name in node.get("required") or []:
        out += _str(19, str(name))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out += _bytes(21, _bytes(1, schema(extra)))
    elif isinstance(extra, bool):
        out += _bytes(21, _varint(2 << 3) + (b"\x01" if extra else b"\x00"))
    kind = node.get("type")
    if isinstance(kind, str):
        out += _bytes(22, _str(1, kind))
    items = node.get("items")
    if isinstance(items, dict):
        out += _bytes(23, _bytes(1, schema(items)))
    for part in node.get("allOf") or []:
        out += _bytes(24, schema(part))
    properties = node.get("properties")
    if isinstance(properties, dict):
        named = b"".join(_bytes(1, _str(1, k) + _bytes(2, schema(v))) for k, v in properties.items())
        out += _bytes(25, named)
    out += _bool(27, bool(node.get("readOnly")))
    out += _extensions(31, node)
    return bytes(out)


def _parameter(param: dict[str, Any]) -> bytes:
    """A ``ParametersItem`` holding a query or path ``NonBodyParameter``."""
    where = str(param.get("in", "query"))
    if where == "path":  # PathParameterSubSchema: required 1, in 2, name 4, type 5, unique_items 19
        sub = (
            _bool(1, True)
            + _str(2, where)
            + _str(4, str(param["name"]))
            + _str(5, str(param.get("type", "")))
        )
        sub += _bool(19, bool(param.get("uniqueItems")))
        non_body = _bytes(4, sub)
    else:  # QueryParameterSubSchema: required 1, in 2, name 4, type 6, unique_items 20
        sub = _bool(1, bool(param.get("required"))) + _str(2, where) + _str(4, str(param["name"]))
        sub += _str(6, str(param.get("type", ""))) + _bool(20, bool(param.get("uniqueItems")))
        non_body = _bytes(3, sub)
    return _bytes(1, _bytes(2, non_body))


def _operation(op: dict[str, Any]) -> bytes:
    out = bytearray()
    out += _str(5, str(op.get("operationId", "")))
    for mime in op.get("produces") or []:
        out += _str(6, mime)
    for mime in op.get("consumes") or []:
        out += _str(7, mime)
    for param in op.get("parameters") or []:
        out += _bytes(8, _parameter(param))
    codes = b""
    for code, response in (op.get("responses") or {}).items():
        body = _str(1, str(response.get("description", "")))
        if isinstance(response.get("schema"), dict):
            body += _bytes(2, _bytes(1, schema(response["schema"])))
        codes += _bytes(1, _str(1, code) + _bytes(2, _bytes(1, body)))
    out += _bytes(9, codes)
    out += _extensions(13, op)
    return bytes(out)


def document(doc: dict[str, Any]) -> bytes:
    """gnostic ``Document`` of a Swagger 2.0 document."""
    out = bytearray()
    out += _str(1, str(doc.get("swagger", "2.0")))
    info = doc.get("info") or {}
    out += _bytes(2, _str(1, str(info.get("title", ""))) + _str(2, str(info.get("version", ""))))
    paths = b""
    for path, item in (doc.get("paths") or {}).items():
        ops = b"".join(_bytes(OPERATIONS[m], _operation(op)) for m, op in item.items() if m in OPERATIONS)
        paths += _bytes(2, _str(1, path) + _bytes(2, ops))
    out += _bytes(8, paths)
    named = b"".join(
        _bytes(1, _str(1, k) + _bytes(2, schema(v))) for k, v in (doc.get("definitions") or {}).items()
    )
    out += _bytes(9, named)
    return bytes(out)
