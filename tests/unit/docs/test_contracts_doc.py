"""docs/CONTRACTS.md stays true: every call of the store and of the api client that its code blocks
show names a method that exists, with parameters that method has."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from bus.client import ApiClient
from bus.store import Store

DOC = Path(__file__).resolve().parents[3] / "docs" / "CONTRACTS.md"
TARGETS: dict[str, Any] = {"store": Store, "Store": Store, "api": ApiClient}
CALL = re.compile(r"\b(store|Store|api)\.(\w+)\(")


def _code(text: str) -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))


def _args(code: str, start: int) -> str:
    depth, i = 1, start
    while depth:
        depth += {"(": 1, ")": -1}.get(code[i], 0)
        i += 1
    return code[start : i - 1]


def _names(args: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in args:
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    names = [p.split("=")[0].strip() for p in parts]
    return [n for n in names if n.isidentifier()]


def _calls() -> list[tuple[str, str, list[str]]]:
    code = _code(DOC.read_text())
    return [(m[1], m[2], _names(_args(code, m.end()))) for m in CALL.finditer(code)]


def test_the_doc_shows_calls() -> None:
    assert len(_calls()) >= 15


@pytest.mark.parametrize(("owner", "method", "names"), _calls(), ids=lambda v: str(v))
def test_each_call_matches_the_code(owner: str, method: str, names: list[str]) -> None:
    fn = getattr(TARGETS[owner], method, None)
    assert fn is not None, f"docs/CONTRACTS.md shows {owner}.{method}, which does not exist"
    params = set(inspect.signature(fn).parameters)
    missing = [n for n in names if n not in params]
    assert not missing, f"docs/CONTRACTS.md: {owner}.{method} has no parameter {missing}"
