"""Label selectors and field selectors, as kubectl's ``-l`` and ``--field-selector`` spell them.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``, joined
by commas (all must hold). :func:`parse_selector` reads the text form, :func:`selector_from_dict`
a ``metav1.LabelSelector`` (matchLabels/matchExpressions), :func:`selector_from_map` the plain map of
Services and ReplicationControllers. Parsed selectors are cached and immutable.

Field selectors: ``spec.nodeName=n1,status.phase!=Running`` on any dotted path; a missing field
compares as the empty string, as Kubernetes' field sets do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from schemas import names
from schemas.errors import BadRequest

OPERATORS = ("=", "==", "!=", "in", "notin", "exists", "!")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # "in", "notin", "exists", "!" (does not exist), "=", "!="
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        op = self.operator
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        if op in ("=", "in"):
            return self.key in labels and labels[self.key] in self.values
        # "!=" and "notin" match when the label is absent too
        return labels.get(self.key) not in self.values

    def __str__(self) -> str:
        op, key = self.operator, self.key
        if op == "exists":
            return key
        if op == "!":
            return f"!{key}"
        if op in ("=", "!="):
            return f"{key}{op}{next(iter(self.values))}"
        return f"{key} {op} ({','.join(sorted(self.values))})"


@dataclass(frozen=True, slots=True)
class Selector:
    """All requirements must hold. No requirements: matches everything; ``nothing``: matches none."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """True when the selector selects everything (no requirements)."""
        return not self.requirements and not self.nothing

    def matches(self, labels: dict[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    @classmethod
    def everything(cls) -> Selector:
        return EVERYTHING

    @classmethod
    def none(cls) -> Selector:
        return NOTHING


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def _check_key(key: str, token: str) -> None:
    errs = names.qualified_name_errors(key)
    if errs:
        raise BadRequest(f'unable to parse requirement: invalid label key "{key}" in "{token}": {errs[0]}')


def _check_value(value: str, token: str) -> None:
    errs = names.label_value_errors(value)
    if errs:
        raise BadRequest(
            f'unable to parse requirement: invalid label value "{value}" in "{token}": {errs[0]}'
        )


_SET_RE = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([^=!\s]+)\s*(==|!=|=)\s*(.*?)\s*$")


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    if depth != 0:
        raise BadRequest(f'unable to parse requirement: unbalanced parentheses in "{text}"')
    return parts


@lru_cache(maxsize=2048)
def parse_selector(text: str | None) -> Selector:
    """Parse kubectl's ``-l`` syntax. Raises BadRequest naming the bad token."""
    if text is None or not text.strip():
        return EVERYTHING
    reqs: list[Requirement] = []
    for raw in _split_top(text):
        token = raw.strip()
        if not token:
            raise BadRequest(f'unable to parse requirement: empty requirement in "{text}"')
        m = _SET_RE.match(token)
        if m:
            key, op, inner = m.groups()
            _check_key(key, token)
            values = [v.strip() for v in inner.split(",")] if inner.strip() else []
            if not values:
                raise BadRequest(
                    f'unable to parse requirement: "{token}": '
                    f"for '{op}' operators, values set can't be empty"
                )
            for v in values:
                _check_value(v, token)
            reqs.append(Requirement(key, op, frozenset(values)))
            continue
        m = _EQ_RE.match(token)
        if m:
            key, op, value = m.groups()
            _check_key(key, token)
            _check_value(value, token)
            reqs.append(Requirement(key, "!=" if op == "!=" else "=", frozenset((value,))))
            continue
        if token.startswith("!"):
            key = token[1:].strip()
            _check_key(key, token)
            reqs.append(Requirement(key, "!"))
            continue
        if re.search(r"\s|[()=]", token):
            raise BadRequest(
                f'unable to parse requirement: found "{token}", expected: key, !key, key=value, '
                "key!=value, key in (v1,v2) or key notin (v1,v2)"
            )
        _check_key(token, token)
        reqs.append(Requirement(token, "exists"))
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


def selector_from_map(match_labels: dict[str, str] | None) -> Selector:
    """A plain label map (Service.spec.selector, RC.spec.selector): equality on every pair."""
    if not match_labels:
        return EVERYTHING
    return Selector(tuple(Requirement(k, "=", frozenset((v,))) for k, v in sorted(match_labels.items())))


_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def selector_from_dict(label_selector: dict[str, Any] | None) -> Selector:
    """A ``metav1.LabelSelector``. ``None`` matches nothing, ``{}`` matches everything (Kubernetes)."""
    if label_selector is None:
        return NOTHING
    reqs = [
        Requirement(k, "=", frozenset((v,))) for k, v in (label_selector.get("matchLabels") or {}).items()
    ]
    for expr in label_selector.get("matchExpressions") or ():
        op = _OPS.get(expr.get("operator", ""))
        if op is None:
            raise BadRequest(f'"{expr.get("operator")}" is not a valid label selector operator')
        values = frozenset(expr.get("values") or ())
        if op in ("in", "notin") and not values:
            raise BadRequest(
                f"values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty "
                f'(key "{expr.get("key")}")'
            )
        reqs.append(Requirement(expr.get("key", ""), op, values))
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


# --- field selectors ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    path: str
    operator: str  # "=" or "!="
    value: str

    def matches(self, obj: dict[str, Any]) -> bool:
        actual = field_value(obj, self.path)
        return (actual == self.value) == (self.operator == "=")


def field_value(obj: dict[str, Any], path: str) -> str:
    """The value at a dotted path as text (``""`` when absent; booleans as ``true``/``false``)."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
        if cur is None:
            return ""
    if cur is True:
        return "true"
    if cur is False:
        return "false"
    return cur if isinstance(cur, str) else str(cur)


_FIELD_RE = re.compile(r"^\s*([A-Za-z0-9_.\-/]+)\s*(==|!=|=)\s*(.*?)\s*$")


@lru_cache(maxsize=1024)
def _parse_fields(text: str) -> tuple[FieldRequirement, ...]:
    reqs = []
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            continue
        m = _FIELD_RE.match(token)
        if not m:
            raise BadRequest(
                f'invalid field selector: "{token}": expected path=value, path==value or path!=value'
            )
        path, op, value = m.groups()
        reqs.append(FieldRequirement(path, "!=" if op == "!=" else "=", value))
    return tuple(reqs)


def parse_field_selector(text: str | None) -> list[FieldRequirement]:
    """``spec.nodeName=n1,status.phase!=Running``. Raises BadRequest naming the bad token."""
    if text is None or not text.strip():
        return []
    return list(_parse_fields(text))


def matches_fields(obj: dict[str, Any], reqs: list[FieldRequirement] | tuple[FieldRequirement, ...]) -> bool:
    return all(r.matches(obj) for r in reqs)
