"""Quantities: parsing, cpu_millis, bytes, and their validation in manifests."""

from __future__ import annotations

from fractions import Fraction

import pytest

from schemas import quantity

# (quantity, exact value)
PARSE_TABLE = [
    (1, Fraction(1)),
    (0, Fraction(0)),
    (0.5, Fraction(1, 2)),
    ("1", Fraction(1)),
    ("500m", Fraction(1, 2)),
    ("100m", Fraction(1, 10)),
    ("0.1", Fraction(1, 10)),
    (".5", Fraction(1, 2)),
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),
    ("1.5e-3", Fraction(3, 2000)),
    ("128Mi", Fraction(128 * 2**20)),
    ("1Gi", Fraction(2**30)),
    ("2Ki", Fraction(2048)),
    ("1k", Fraction(1000)),
    ("1M", Fraction(10**6)),
    ("1G", Fraction(10**9)),
    ("10u", Fraction(10, 10**6)),
    ("5n", Fraction(5, 10**9)),
    ("-1", Fraction(-1)),
    ("+2", Fraction(2)),
    ("1Ti", Fraction(2**40)),
]


@pytest.mark.parametrize(("q", "value"), PARSE_TABLE)
def test_parse(q: str | int | float, value: Fraction) -> None:
    assert quantity.parse(q) == value


@pytest.mark.parametrize("q", ["", "abc", "1.2.3", "12XB", "1mi", "Mi", "1 Gi", True, None, [1], "1e999"])
def test_parse_rejects(q: object) -> None:
    with pytest.raises(quantity.QuantityError):
        quantity.parse(q)  # type: ignore[arg-type]
    assert not quantity.is_valid(q)


# (quantity, millicores)
CPU_TABLE = [("500m", 500), (1, 1000), ("0.1", 100), ("2", 2000), ("1.5", 1500), ("0.0001", 1), ("250m", 250)]


@pytest.mark.parametrize(("q", "millis"), CPU_TABLE)
def test_cpu_millis(q: str | int, millis: int) -> None:
    assert quantity.cpu_millis(q) == millis


# (quantity, bytes)
BYTES_TABLE = [
    ("128Mi", 134217728),
    ("1Gi", 1073741824),
    ("1k", 1000),
    ("1e3", 1000),
    (512, 512),
    ("0.5", 1),
    ("100m", 1),
]


@pytest.mark.parametrize(("q", "n"), BYTES_TABLE)
def test_bytes(q: str | int, n: int) -> None:
    assert quantity.bytes(q) == n
    assert quantity.to_bytes(q) == n
