"""Translate pydantic's ValidationError into Kubernetes-style FieldErrors.

pydantic reports ``loc=('spec', 'containers', 0, 'image')``; kubectl says
``spec.containers[0].image``. Map keys (labels, resource lists, data) are written ``[key]``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from schemas.errors import FieldError
from schemas.validation.errors import invalid, required, unknown_field

#: Fields whose values are maps: the next path element is a key, written ``[key]``.
MAP_FIELDS = frozenset(
    {
        "labels",
        "annotations",
        "nodeSelector",
        "data",
        "binaryData",
        "stringData",
        "matchLabels",
        "limits",
        "requests",
        "capacity",
        "allocatable",
        "hard",
        "used",
        "default",
        "defaultRequest",
        "max",
        "min",
        "maxLimitRequestRatio",
        "overhead",
        "allocatedResources",
    }
)

_EXPECTED = {
    "int_type": "expected integer",
    "int_parsing": "expected integer",
    "int_from_float": "expected integer",
    "string_type": "expected string",
    "bool_type": "expected boolean",
    "float_type": "expected number",
    "list_type": "expected array",
    "dict_type": "expected object",
    "model_type": "expected object",
    "model_attributes_type": "expected object",
}


def path_of(loc: tuple[Any, ...]) -> str:
    out: list[str] = []
    prev: Any = None
    for part in loc:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif prev in MAP_FIELDS and out and not isinstance(prev, int):
            out.append(f"[{part}]")
        else:
            out.append(f".{part}" if out else str(part))
        prev = part
    return "".join(out)


def translate(exc: ValidationError) -> list[FieldError]:
    causes: list[FieldError] = []
    seen: set[str] = set()
    for err in exc.errors(include_url=False, include_context=False):
        path = path_of(err["loc"])
        if path in seen:
            continue
        seen.add(path)
        etype = err["type"]
        if etype == "missing":
            causes.append(required(path))
        elif etype == "extra_forbidden":
            causes.append(unknown_field(path))
        else:
            detail = _EXPECTED.get(etype) or err["msg"]
            causes.append(invalid(path, err.get("input"), detail))
    return causes
