"""kubectl's JSONPath templates (``-o jsonpath=...`` and ``custom-columns``). Pure.

A template is text with ``{...}`` expressions, as kubectl spells them: ``{.items[*].metadata.name}``,
``{range .items[*]}{.metadata.name}{"\\n"}{end}``, filters ``[?(@.type=="Ready")]``, recursive
``..name``, slices, unions, and ``\\.`` to escape a dot inside a key (``.labels.app\\.kubernetes\\.io/name``).
Each expression is evaluated by jsonpath-ng's extended parser; several results print separated by a
space, strings as they are and maps or lists as compact JSON, as kubectl prints them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parse as jp_parse

from cli.gotemplate import TemplateError


@dataclass
class _Expr:
    path: str


@dataclass
class _Range:
    path: str
    body: list[Any] = field(default_factory=list)


def _split(template: str) -> list[tuple[str, str]]:
    """Text and ``{...}`` pieces; braces inside quotes do not end an expression."""
    out: list[tuple[str, str]] = []
    i, text = 0, ""
    while i < len(template):
        ch = template[i]
        if ch != "{":
            text += ch
            i += 1
            continue
        if text:
            out.append(("text", text))
            text = ""
        j, quote, depth = i + 1, "", 1
        while j < len(template):
            c = template[j]
            if quote:
                if c == "\\":
                    j += 1
                elif c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(template):
            raise TemplateError(f"unclosed action in jsonpath template {template!r}")
        out.append(("expr", template[i + 1 : j].strip()))
        i = j + 1
    if text:
        out.append(("text", text))
    return out


def parse(template: str) -> list[Any]:
    root: list[Any] = []
    stack: list[list[Any]] = [root]
    for kind, piece in _split(template):
        if kind == "text":
            stack[-1].append(piece)
        elif piece.startswith("range "):
            node = _Range(piece[6:].strip())
            stack[-1].append(node)
            stack.append(node.body)
        elif piece == "end":
            if len(stack) == 1:
                raise TemplateError("not in range, nothing to end")
            stack.pop()
        elif len(piece) >= 2 and piece[0] == piece[-1] and piece[0] in "\"'":
            stack[-1].append(_unquote(piece))
        else:
            stack[-1].append(_Expr(piece))
    if len(stack) > 1:
        raise TemplateError("unclosed range in jsonpath template")
    return root


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    try:
        return json.loads('"' + body.replace('"', '\\"').replace('\\\\"', '\\"') + '"')
    except ValueError:
        return body


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _quote_keys(expr: str) -> str:
    """Quote the dotted keys jsonpath-ng cannot read bare (``app\\.kubernetes\\.io/name``)."""
    out, i = "", 0
    while i < len(expr):
        ch = expr[i]
        if ch in "[(":
            close = "]" if ch == "[" else ")"
            depth, j = 0, i
            while j < len(expr):
                if expr[j] == ch:
                    depth += 1
                elif expr[j] == close:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out += expr[i : j + 1]
            i = j + 1
        elif ch == "." and i + 1 < len(expr) and expr[i + 1] not in ".[*":
            j, key = i + 1, ""
            while j < len(expr) and expr[j] not in ".[":
                if expr[j] == "\\" and j + 1 < len(expr):
                    key += expr[j + 1]
                    j += 2
                    continue
                key += expr[j]
                j += 1
            out += "." + (key if _PLAIN_KEY.match(key) or key[0] in "\"'" else '"' + key + '"')
            i = j
        else:
            out += ch
            i += 1
    return out


@lru_cache(maxsize=256)
def _compile(path: str) -> Any:
    expr = path.strip()
    if expr.startswith("$"):
        expr = expr[1:]
    if expr.startswith("@"):
        expr = expr[1:]
    expr = _quote_keys(expr)
    text = "$" + expr if expr not in ("", ".") else "$"
    try:
        return jp_parse(text)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise TemplateError(f"cannot parse jsonpath {path!r}: {exc}") from None


def find(path: str, data: Any) -> list[Any]:
    """Every value ``path`` selects in ``data``."""
    return [m.value for m in _compile(path).find(data)]


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _run(nodes: list[Any], data: Any, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Expr):
            out.append(" ".join(format_value(v) for v in find(node.path, data)))
        else:
            values = find(node.path, data)
            if len(values) == 1 and isinstance(values[0], list):
                values = values[0]
            for value in values:
                _run(node.body, value, out)


def render(template: str, data: Any) -> str:
    """Run a kubectl JSONPath template over ``data``."""
    out: list[str] = []
    _run(parse(template), data, out)
    return "".join(out)
