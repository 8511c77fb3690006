"""Kubernetes protobuf request bodies to the JSON form the api takes (pure).

kubectl's typed clients (``create namespace|deployment|configmap|secret``, ``auth can-i``, the
evictions of ``drain``, ``run``) send ``application/vnd.kubernetes.protobuf`` and do not fall back to
JSON, so the gateway reads it. The body is the magic ``k8s\\0`` then a ``runtime.Unknown``
(``typeMeta`` {apiVersion, kind}, ``raw``: the object's message). Field numbers, names and types
come from Kubernetes' generated.proto files, tabled in ``protoschema.json``
(scripts/gen_protoschema.py). Messages with a JSON form of their own are converted as Kubernetes'
JSON marshalers write them: Time, MicroTime, Duration, Quantity, IntOrString, RawExtension,
FieldsV1, and the ``items`` wrappers (Verbs, ExtraValue). Empty strings and zero times are left
out, as ``omitempty`` leaves them out of JSON.

Responses stay JSON: every client that sends protobuf also accepts JSON.
"""

from __future__ import annotations

import base64
import functools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.errors import BadRequest

MAGIC = b"k8s\x00"
META = "k8s.io.apimachinery.pkg.apis.meta.v1"
UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
LIST_WRAPPERS = frozenset({f"{META}.Verbs", "k8s.io.api.authorization.v1.ExtraValue"})
SIGNED = frozenset({"int32", "int64"})
Field = tuple[int, str, str, str]


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, dict[int, Field]]:
    raw = json.loads((Path(__file__).with_name("protoschema.json")).read_text())
    return {
        msg: {int(f[0]): (int(f[0]), str(f[1]), str(f[2]), str(f[3])) for f in fields}
        for msg, fields in raw.items()
    }


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise BadRequest("the protobuf body is truncated")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message: ints for varints, bytes otherwise."""
    out = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise BadRequest(f"the protobuf body has an unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(typ: str, wire: int, value: Any) -> Any:
    if typ == "string":
        return bytes(value).decode()
    if typ == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if typ == "bool":
        return bool(value)
    if typ in SIGNED:
        return value - (1 << 64) if value >= 1 << 63 else value
    if typ in ("double", "float"):
        import struct

        return struct.unpack("<d" if wire == 1 else "<f", value)[0]
    return value


def _time(msg: dict[int, Any], micro: bool) -> str | None:
    seconds = msg.get(1, 0)
    if not seconds:
        return None
    when = datetime.fromtimestamp(seconds, UTC)
    if micro:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{msg.get(2, 0) // 1000:06d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _special(typ: str, data: bytes) -> tuple[bool, Any]:
    """(handled, value) for messages whose JSON form is not an object of their fields."""
    if typ in (f"{META}.Time", f"{META}.MicroTime"):
        raw = {n: _scalar("int64", w, v) for n, w, v in _fields(data) if w == 0}
        return True, _time(raw, typ.endswith("MicroTime"))
    if typ == f"{META}.Duration":
        nanos = next((_scalar("int64", w, v) for n, w, v in _fields(data) if n == 1), 0)
        return True, f"{nanos / 1e9:g}s"
    if typ == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        return True, next((bytes(v).decode() for n, w, v in _fields(data) if n == 1), "0")
    if typ == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        f = {n: v for n, w, v in _fields(data)}
        if f.get(1, 0) == 1:
            return True, bytes(f.get(3, b"")).decode()
        return True, _scalar("int32", 0, f.get(2, 0))
    if typ in ("k8s.io.apimachinery.pkg.runtime.RawExtension", f"{META}.FieldsV1"):
        raw = next((bytes(v) for n, w, v in _fields(data) if n == 1), b"")
        return True, json.loads(raw) if raw else None
    if typ in LIST_WRAPPERS:
        return True, [bytes(v).decode() for n, w, v in _fields(data) if n == 1]
    return False, None


def _value(typ: str, wire: int, value: Any) -> Any:
    if typ in schema() or "." in typ:
        return message(typ, bytes(value))
    return _scalar(typ, wire, value)


def _packed(typ: str, data: bytes) -> list[Any]:
    out, pos = [], 0
    while pos < len(data):
        v, pos = _varint(data, pos)
        out.append(_scalar(typ, 0, v))
    return out


def message(typ: str, data: bytes) -> Any:
    """The JSON form of one message of type ``typ`` (a full protobuf name)."""
    handled, special = _special(typ, data)
    if handled:
        return special
    fields = schema().get(typ)
    if fields is None:
        raise BadRequest(f"the protobuf type {typ} is not known to this server; send JSON")
    obj: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        field = fields.get(number)
        if field is None:
            continue
        _, name, label, ftype = field
        if label == "map":
            entry = {n: (w, v) for n, w, v in _fields(bytes(value))}
            key = bytes(entry[1][1]).decode() if 1 in entry else ""
            w, v = entry.get(2, (2, b""))
            obj.setdefault(name, {})[key] = _value(ftype, w, v)
        elif label == "rep":
            items = obj.setdefault(name, [])
            if wire == 2 and ftype in ("int32", "int64", "bool", "uint32", "uint64"):
                items.extend(_packed(ftype, bytes(value)))
            else:
                items.append(_value(ftype, wire, value))
        else:
            obj[name] = _value(ftype, wire, value)
    return {k: v for k, v in obj.items() if v not in ("", None, {})}


def _package(api_version: str) -> str:
    group, _, version = api_version.rpartition("/")
    if group == "meta.k8s.io":
        return META
    return f"k8s.io.api.{group.split('.')[0] if group else 'core'}.{version}"


def decode(body: bytes) -> dict[str, Any]:
    """A ``k8s\\0``-framed protobuf object as its JSON form, with apiVersion and kind."""
    if not body.startswith(MAGIC):
        raise BadRequest("the protobuf body does not start with the Kubernetes magic number")
    envelope = {n: v for n, w, v in _fields(body[len(MAGIC) :])}
    type_meta = {n: bytes(v).decode() for n, w, v in _fields(bytes(envelope.get(1, b"")))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    if not kind:
        raise BadRequest("the protobuf body names no kind")
    obj = message(f"{_package(api_version)}.{kind}", bytes(envelope.get(2, b"")))
    return {"apiVersion": api_version, "kind": kind, **obj}
