"""``jetkube explain TYPE[.field...]`` from the pydantic models in ``schemas``. Pure.

Field names are the models' aliases (camelCase, as in YAML); types are read from annotations;
descriptions come from ``Field(description=...)`` or the model's docstring when there is one.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from cli.resources import lookup
from schemas.errors import BadRequest


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else tp
    return tp


def type_name(tp: Any) -> str:
    tp = _unwrap(tp)
    origin = typing.get_origin(tp)
    if origin in (list, tuple, set):
        args = typing.get_args(tp)
        return f"[]{type_name(args[0]) if args else 'Object'}"
    if origin is dict:
        args = typing.get_args(tp)
        return f"map[string]{type_name(args[1]) if len(args) > 1 else 'string'}"
    if origin is typing.Literal:
        return "string"
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in typing.get_args(tp) if a is not type(None)]
        return "IntOrString" if sorted(names) == ["integer", "string"] else "|".join(names)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "Object"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(tp, "Object")


def _model_of(tp: Any) -> type[BaseModel] | None:
    tp = _unwrap(tp)
    origin = typing.get_origin(tp)
    if origin in (list, tuple, set):
        args = typing.get_args(tp)
        return _model_of(args[0]) if args else None
    if origin is dict:
        args = typing.get_args(tp)
        return _model_of(args[1]) if len(args) > 1 else None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    return None


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {(f.alias or name): f for name, f in model.model_fields.items()}


def explain(path: str) -> str:
    """The text ``kubectl explain`` prints for ``path`` (``pods``, ``pods.spec.containers``)."""
    resource, *parts = path.split(".")
    info = lookup(resource)
    model: type[BaseModel] | None = info.model
    field_type: Any = model
    description = (model.__doc__ or "").strip() if model else ""
    walked: list[str] = []
    for part in parts:
        fields = _fields(model) if model else {}
        if part not in fields:
            where = ".".join([info.kind.lower(), *walked]) if walked else info.kind.lower()
            raise BadRequest(f'field "{part}" does not exist in {where}')
        f = fields[part]
        walked.append(part)
        field_type = f.annotation
        description = f.description or ""
        model = _model_of(field_type)
        if not description and model is not None:
            description = (model.__doc__ or "").strip()
    lines = [f"KIND:       {info.kind}", f"VERSION:    {info.api_version}", ""]
    if walked:
        lines += [f"FIELD: {walked[-1]} <{type_name(field_type)}>", ""]
    lines += ["DESCRIPTION:", f"    {description or '<empty>'}", ""]
    if model is not None:
        lines.append("FIELDS:")
        for name, f in _fields(model).items():
            required = " -required-" if f.is_required() else ""
            lines.append(f"  {name}\t<{type_name(f.annotation)}>{required}")
            if f.description:
                lines += [f"    {f.description}", ""]
    return "\n".join(lines).rstrip() + "\n"
