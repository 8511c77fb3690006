"""Quantity arithmetic for admission: exact sums of ``requests``/``limits`` and Kubernetes' spelling.

Values are exact :class:`~fractions.Fraction` from :mod:`schemas.quantity`. :func:`format_quantity`
writes a value back the way ``Quantity.String()`` would for it: CPU as a whole number or millicores
(``2``, ``500m``), memory with the largest exact binary suffix (``1Gi``, ``1536Mi``), else the largest
exact decimal one (``1G``, ``2k``), counts as integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from schemas import quantity

_BINARY = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))
_DECIMAL = (("E", 10**18), ("P", 10**15), ("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3))


def parse(q: Any) -> Fraction:
    return quantity.parse(q)


def format_quantity(value: Fraction | int) -> str:
    value = Fraction(value)
    if value.denominator != 1:
        milli = value * 1000
        if milli.denominator == 1:
            return f"{milli.numerator}m"
        micro = value * 10**6
        if micro.denominator == 1:
            return f"{micro.numerator}u"
        nano = value * 10**9
        return f"{-(-nano.numerator // nano.denominator)}n"
    n = value.numerator
    if n == 0:
        return "0"
    for suffix, size in _BINARY:
        if abs(n) >= size and n % size == 0:
            return f"{n // size}{suffix}"
    for suffix, size in _DECIMAL:
        if abs(n) >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def add(into: dict[str, Fraction], more: Mapping[str, Fraction]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, Fraction(0)) + v


def container_resources(container: Mapping[str, Any], section: str) -> dict[str, Fraction]:
    values = ((container.get("resources") or {}).get(section)) or {}
    return {k: parse(v) for k, v in values.items()}


def pod_resources(pod: Mapping[str, Any], section: str) -> dict[str, Fraction]:
    """A pod's effective ``requests`` or ``limits``: the sum over its containers, at least the
    largest init container's (init containers run one at a time), plus ``spec.overhead``."""
    spec = pod.get("spec") or {}
    total: dict[str, Fraction] = {}
    for c in spec.get("containers") or []:
        add(total, container_resources(c, section))
    for c in spec.get("initContainers") or []:
        for k, v in container_resources(c, section).items():
            if v > total.get(k, Fraction(0)):
                total[k] = v
    overhead = spec.get("overhead") or {}
    add(total, {k: parse(v) for k, v in overhead.items()})
    return total


def every_container_has(pod: Mapping[str, Any], section: str, name: str) -> bool:
    containers: Iterable[Mapping[str, Any]] = (pod.get("spec") or {}).get("containers") or []
    return all(name in (((c.get("resources") or {}).get(section)) or {}) for c in containers)
