"""Kubernetes' IntOrString values (``maxSurge: 25%`` or ``maxUnavailable: 1``) scaled to a total."""

from __future__ import annotations

import math

from schemas.errors import BadRequest


def scaled_value(value: int | str | None, total: int, *, round_up: bool, default: int | str = 0) -> int:
    """``GetScaledValueFromIntOrPercent``: an int as is, ``"N%"`` of ``total`` rounded up or down."""
    if value is None:
        value = default
    if isinstance(value, bool):
        raise BadRequest(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        try:
            percent = int(text[:-1])
        except ValueError as exc:
            raise BadRequest(f"invalid value for IntOrString: invalid value {text!r}") from exc
        exact = percent * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    try:
        return int(text)
    except ValueError as exc:
        raise BadRequest("invalid value for IntOrString: invalid type: string is not a percentage") from exc
