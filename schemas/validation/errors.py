"""Building FieldErrors in Kubernetes' words (k8s.io/apimachinery/pkg/util/validation/field)."""

from __future__ import annotations

import json
from typing import Any

from schemas.errors import FieldError


def fmt(value: Any) -> str:
    """A value as Kubernetes prints it in messages: strings quoted, numbers bare, objects as JSON."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, f"Required value: {detail}" if detail else "Required value")


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(path, f"Invalid value: {fmt(value)}: {detail}")


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(path, f"Duplicate value: {fmt(value)}")


def not_found(path: str, value: Any) -> FieldError:
    return FieldError(path, f"Not found: {fmt(value)}")


def unsupported(path: str, value: Any, supported: tuple[str, ...] | list[str]) -> FieldError:
    listed = ", ".join(json.dumps(s) for s in supported)
    return FieldError(path, f"Unsupported value: {fmt(value)}: supported values: {listed}")


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(path, f"Forbidden: {detail}")


def too_long(path: str, limit: int) -> FieldError:
    return FieldError(path, f"Too long: must have at most {limit} bytes")


class UnknownField(FieldError):
    """An unknown field, spelled as strict decoding reports it: ``unknown field "spec.foo"``."""

    def __str__(self) -> str:
        return self.message


def unknown_field(path: str) -> FieldError:
    return UnknownField(path, f'unknown field "{path}"')
