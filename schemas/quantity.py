"""Kubernetes resource quantities: ``"500m"``, ``"128Mi"``, ``1``, ``"1e3"``, ``"0.5"``.

A quantity is a decimal number with an optional suffix: binary (``Ki Mi Gi Ti Pi Ei``), decimal
(``n u m k M G T P E``) or a decimal exponent (``e3``, ``E-2``). :func:`parse` turns one into an
exact :class:`~fractions.Fraction`; :func:`cpu_millis` and :func:`bytes` give the integers the
scheduler and the kubelet count with (rounded up, as Kubernetes' ``MilliValue``/``Value`` do).

Parsing is cached: manifests repeat a handful of quantities, and the api validates thousands of pods
per second.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_RE = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE]?)$")

QUANTITY_MESSAGE = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


class QuantityError(ValueError):
    """The text is not a quantity; the message is Kubernetes' own."""


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> Fraction:
    m = _RE.match(text.strip())
    if not m:
        raise QuantityError(QUANTITY_MESSAGE)
    sign, number, suffix = m.groups()
    value = Fraction(number)
    if suffix in _BINARY:
        value *= _BINARY[suffix]
    elif suffix[:1] in ("e", "E"):
        exp = int(suffix[1:])
        if abs(exp) > 100:
            raise QuantityError(QUANTITY_MESSAGE)
        value *= Fraction(10) ** exp
    else:
        value *= _DECIMAL[suffix]
    return -value if sign == "-" else value


def parse(q: str | int | float) -> Fraction:
    """The exact value of a quantity. Raises :class:`QuantityError`."""
    if isinstance(q, bool):
        raise QuantityError(QUANTITY_MESSAGE)
    if isinstance(q, int):
        return Fraction(q)
    if isinstance(q, float):
        if math.isnan(q) or math.isinf(q):
            raise QuantityError(QUANTITY_MESSAGE)
        return Fraction(repr(q)) if "e" not in repr(q) else Fraction(q)
    if isinstance(q, str):
        return _parse_text(q)
    raise QuantityError(QUANTITY_MESSAGE)


def is_valid(q: object) -> bool:
    try:
        parse(q)  # type: ignore[arg-type]
    except QuantityError:
        return False
    return True


def cpu_millis(q: str | int | float) -> int:
    """CPU in millicores, rounded up: ``"500m"`` -> 500, ``1`` -> 1000, ``"0.1"`` -> 100."""
    return math.ceil(parse(q) * 1000)


def to_bytes(q: str | int | float) -> int:
    """A quantity as an integer, rounded up: ``"128Mi"`` -> 134217728, ``"1k"`` -> 1000."""
    return math.ceil(parse(q))


bytes = to_bytes


def format_fraction(value: Fraction) -> str:
    """A short text for a value in messages: ``2``, ``0.5``, ``100m``."""
    if value.denominator == 1:
        return str(value.numerator)
    milli = value * 1000
    if milli.denominator == 1:
        return f"{milli.numerator}m"
    return str(float(value))
