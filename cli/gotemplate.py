"""A subset of Go's text/template, for ``jetkube get -o go-template=...``. Pure.

It runs over the object as kubectl runs it: over the JSON form (plain dicts, lists and scalars).

Supported: text and ``{{ }}`` actions with ``{{-``/``-}}`` trimming and ``{{/* comments */}}``;
field chains (``.status.containerStatuses``, ``$x.metadata.name``, ``$``, ``.``); pipelines
(``.x | printf "%s"``); variables (``{{$x := .a}}``, ``{{$x = .b}}``); ``range`` (over lists and
maps, with ``$i, $e :=`` and ``{{else}}``), ``if``/``else if``/``else``, ``with``/``else``; string,
number, bool and nil literals; parenthesised pipelines; the functions ``len index printf print
println eq ne lt le gt ge and or not html js urlquery`` and kubectl's ``base64decode``.

Where jetkube differs from Go on purpose: a field of a missing value is empty, not an error. Go
fails with "nil pointer evaluating interface {}.message" on the seed's
``{{.lastState.terminated.message}}`` for a container that never terminated; here that prints
nothing (a missing last key still prints Go's ``<no value>``). Integers print as integers (Go
prints large JSON numbers as ``1e+06``).
"""

from __future__ import annotations

import base64
import html
import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import BadRequest


class TemplateError(BadRequest):
    """A template that does not parse or fails while it runs."""


class _Missing:
    def __repr__(self) -> str:
        return "<no value>"


class _Broken(_Missing):
    """A field of a missing value: Go fails here; jetkube prints nothing."""


MISSING: Any = _Missing()
BROKEN: Any = _Broken()

# ------------------------------------------------------------------------------------------- parse


@dataclass
class Text:
    text: str


@dataclass
class Action:
    pipe: Pipe


@dataclass
class Pipe:
    decl: list[str] = field(default_factory=list)
    assign: bool = False  # "=" rather than ":="
    cmds: list[list[Any]] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # if | range | with
    pipe: Pipe
    body: list[Any] = field(default_factory=list)
    orelse: list[Any] = field(default_factory=list)


@dataclass
class Field:
    base: Any  # "." | "$name" | Pipe (parenthesised)
    names: list[str]


@dataclass
class Ident:
    name: str


@dataclass
class Literal:
    value: Any


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:\\.|[^"\\])*")
    | (?P<raw>`[^`]*`)
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<var>\$\w*(?:\.\w+)*)
    | (?P<after>(?<=\))(?:\.\w+)+)
    | (?P<field>(?:\.\w+)+|\.)
    | (?P<op>:=|=|\||\(|\)|,)
    | (?P<ident>\w+)
    )""",
    re.X,
)


def _tokens(src: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    src = src.strip()
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise TemplateError(f"template: unexpected {src[pos:]!r} in action {{{{{src}}}}}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], src: str) -> None:
        self.toks = tokens
        self.i = 0
        self.src = src

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise TemplateError(f"template: unexpected end of action {{{{{self.src}}}}}")
        self.i += 1
        return tok

    def pipe(self, allow_decl: bool = True) -> Pipe:
        pipe = Pipe()
        if allow_decl:
            save = self.i
            names = []
            while (tok := self.peek()) and tok[0] == "var" and "." not in tok[1]:
                names.append(self.take()[1])
                nxt = self.peek()
                if nxt == ("op", ","):
                    self.take()
                    continue
                break
            nxt = self.peek()
            if names and nxt in (("op", ":="), ("op", "=")):
                pipe.assign = self.take()[1] == "="
                pipe.decl = names
            else:
                self.i = save
        cmd: list[Any] = []
        while (tok := self.peek()) is not None:
            if tok == ("op", ")"):
                break
            self.take()
            if tok == ("op", "|"):
                if not cmd:
                    raise TemplateError(f"template: missing command before | in {{{{{self.src}}}}}")
                pipe.cmds.append(cmd)
                cmd = []
            elif tok == ("op", "("):
                inner = self.pipe(allow_decl=False)
                if self.take() != ("op", ")"):
                    raise TemplateError(f"template: unclosed ( in {{{{{self.src}}}}}")
                nxt = self.peek()
                if nxt and nxt[0] == "after":
                    self.take()
                    cmd.append(Field(inner, nxt[1].split(".")[1:]))
                else:
                    cmd.append(inner)
            else:
                cmd.append(self.operand(tok))
        if cmd:
            pipe.cmds.append(cmd)
        if not pipe.cmds:
            raise TemplateError(f"template: missing value in {{{{{self.src}}}}}")
        return pipe

    def operand(self, tok: tuple[str, str]) -> Any:
        kind, text = tok
        if kind == "str":
            return Literal(json.loads(text))
        if kind == "raw":
            return Literal(text[1:-1])
        if kind == "num":
            return Literal(float(text) if any(c in text for c in ".eE") else int(text))
        if kind == "var":
            base, *names = text.split(".")
            return Field(base, names)
        if kind == "field":
            return Field(".", [n for n in text.split(".") if n])
        if kind == "ident":
            if text in ("true", "false"):
                return Literal(text == "true")
            if text == "nil":
                return Literal(None)
            return Ident(text)
        raise TemplateError(f"template: unexpected {text!r} in {{{{{self.src}}}}}")


def parse(template: str) -> list[Any]:
    """Parse ``template`` into a tree of Text, Action and Block nodes."""
    pieces: list[Any] = []
    pos = 0
    for m in _ACTION.finditer(template):
        text = template[pos : m.start()]
        if m.group(1):
            text = text.rstrip()
        pieces.append(Text(text))
        pieces.append(m.group(2).strip())
        pos = m.end()
        if m.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
    pieces.append(Text(template[pos:]))

    root: list[Any] = []
    stack: list[tuple[Block, list[Any]]] = []  # open block, the list being filled
    current = root
    for piece in pieces:
        if isinstance(piece, Text):
            if piece.text:
                current.append(piece)
            continue
        src: str = piece
        if src.startswith("/*"):
            continue
        word = src.split(None, 1)[0] if src else ""
        rest = src[len(word) :].strip()
        if word in ("if", "range", "with"):
            block = Block(word, _Parser(_tokens(rest), src).pipe())
            current.append(block)
            stack.append((block, current))
            current = block.body
        elif word == "else":
            if not stack:
                raise TemplateError("template: unexpected {{else}}")
            block, _parent = stack[-1]
            if rest.startswith("if "):
                nested = Block("if", _Parser(_tokens(rest[3:]), src).pipe())
                block.orelse = [nested]
                # The nested if closes with the same {{end}}: replace the open block by it.
                stack[-1] = (nested, _parent)
                current = nested.body
            else:
                current = block.orelse
        elif word == "end":
            if not stack:
                raise TemplateError("template: unexpected {{end}}")
            _block, parent = stack.pop()
            current = parent
        else:
            current.append(Action(_Parser(_tokens(src), src).pipe()))
    if stack:
        raise TemplateError(f"template: unexpected EOF: {{{{{stack[-1][0].kind}}}}} has no {{{{end}}}}")
    return root


# -------------------------------------------------------------------------------------------- exec


def truth(value: Any) -> bool:
    if isinstance(value, _Missing) or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


def format_value(value: Any) -> str:
    """A value as Go's ``%v`` prints what encoding/json decoded."""
    if value is BROKEN:
        return ""
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{format_value(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    return str(value)


_VERB = re.compile(r"%([-+# 0]*\d*(?:\.\d+)?)([a-zA-Z%])")


def go_sprintf(fmt: str, *args: Any) -> str:
    values = list(args)

    def repl(m: re.Match[str]) -> str:
        flags, verb = m.group(1), m.group(2)
        if verb == "%":
            return "%"
        if not values:
            return f"%!{verb}(MISSING)"
        value = values.pop(0)
        if verb == "v":
            text = format_value(value)
            return f"%{flags}s" % text
        if verb == "q":
            return json.dumps(format_value(value) if not isinstance(value, str) else value)
        if verb == "s":
            return f"%{flags}s" % format_value(value)
        if verb == "t":
            return format_value(bool(value))
        try:
            if verb in "dxXob":
                return f"%{flags}{verb if verb != 'b' else 'd'}" % int(value)
            if verb in "feEgG":
                return f"%{flags}{verb}" % float(value)
        except (TypeError, ValueError):
            return f"%!{verb}({format_value(value)})"
        return f"%!{verb}({format_value(value)})"

    return _VERB.sub(repl, fmt)


def _sprint(*args: Any) -> str:
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += format_value(a)
    return out


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, MISSING)
        elif isinstance(value, (list, str)):
            if not isinstance(key, int) or not 0 <= key < len(value):
                raise TemplateError(f"error calling index: index out of range: {key}")
            value = value[key]
        elif isinstance(value, _Missing) or value is None:
            return MISSING
        else:
            raise TemplateError(f"error calling index: can't index item of type {type(value).__name__}")
    return value


def _len(value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise TemplateError(f"error calling len: len of {format_value(value)}")


def _cmp(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def fn(a: Any, *bs: Any) -> bool:
        a = None if a is MISSING else a
        try:
            return any(op(a, None if b is MISSING else b) for b in bs) if bs else False
        except TypeError:
            raise TemplateError("incompatible types for comparison") from None

    return fn


def _and(*args: Any) -> Any:
    for a in args:
        if not truth(a):
            return a
    return args[-1] if args else None


def _or(*args: Any) -> Any:
    for a in args:
        if truth(a):
            return a
    return args[-1] if args else None


FUNCS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "index": _index,
    "printf": go_sprintf,
    "print": _sprint,
    "println": lambda *a: " ".join(format_value(x) for x in a) + "\n",
    "eq": _cmp(lambda a, b: a == b),
    "ne": lambda a, b: a != b,
    "lt": _cmp(lambda a, b: a < b),
    "le": _cmp(lambda a, b: a <= b),
    "gt": _cmp(lambda a, b: a > b),
    "ge": _cmp(lambda a, b: a >= b),
    "and": _and,
    "or": _or,
    "not": lambda a: not truth(a),
    "html": lambda *a: html.escape(_sprint(*a)),
    "js": lambda *a: json.dumps(_sprint(*a))[1:-1],
    "urlquery": lambda *a: urllib.parse.quote_plus(_sprint(*a)),
    "base64decode": lambda s: base64.b64decode(str(s)).decode("utf-8", "replace"),
}


class _Exec:
    def __init__(self, root: Any) -> None:
        self.out: list[str] = []
        self.vars: list[dict[str, Any]] = [{"$": root}]

    def lookup_var(self, name: str) -> Any:
        for scope in reversed(self.vars):
            if name in scope:
                return scope[name]
        raise TemplateError(f'template: undefined variable "{name}"')

    def set_var(self, name: str, value: Any, declare: bool) -> None:
        if declare:
            self.vars[-1][name] = value
            return
        for scope in reversed(self.vars):
            if name in scope:
                scope[name] = value
                return
        raise TemplateError(f'template: undefined variable "{name}"')

    def run(self, nodes: list[Any], dot: Any) -> None:
        for node in nodes:
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipe(node.pipe, dot)
                if not node.pipe.decl:
                    self.out.append(format_value(value))
            else:
                self.block(node, dot)

    def block(self, node: Block, dot: Any) -> None:
        self.vars.append({})
        try:
            if node.kind == "range":
                self.range(node, dot)
                return
            value = self.pipe(node.pipe, dot)
            if truth(value):
                self.run(node.body, value if node.kind == "with" else dot)
            else:
                self.run(node.orelse, dot)
        finally:
            self.vars.pop()

    def range(self, node: Block, dot: Any) -> None:
        decl = node.pipe.decl
        pipe = Pipe(cmds=node.pipe.cmds)
        value = self.pipe(pipe, dot)
        if isinstance(value, dict):
            pairs = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, list):
            pairs = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            pairs = [(i, i) for i in range(value)]
        elif isinstance(value, _Missing) or value is None:
            pairs = []
        else:
            raise TemplateError(f"range can't iterate over {format_value(value)}")
        if not pairs:
            self.run(node.orelse, dot)
            return
        for key, elem in pairs:
            if len(decl) == 1:
                self.vars[-1][decl[0]] = elem
            elif len(decl) == 2:
                self.vars[-1][decl[0]] = key
                self.vars[-1][decl[1]] = elem
            self.run(node.body, elem)

    def pipe(self, pipe: Pipe, dot: Any) -> Any:
        value: Any = MISSING
        for i, cmd in enumerate(pipe.cmds):
            value = self.command(cmd, dot, value if i else None, has_prev=i > 0)
        for name in pipe.decl:
            self.set_var(name, value, declare=not pipe.assign)
        return value

    def command(self, cmd: list[Any], dot: Any, prev: Any, has_prev: bool) -> Any:
        head, args = cmd[0], cmd[1:]
        if isinstance(head, Ident):
            fn = FUNCS.get(head.name)
            if fn is None:
                raise TemplateError(f'template: function "{head.name}" not defined')
            values = [self.arg(a, dot) for a in args]
            if has_prev:
                values.append(prev)
            return fn(*values)
        if args or has_prev:
            raise TemplateError("template: can't give arguments to a non-function")
        return self.arg(head, dot)

    def arg(self, node: Any, dot: Any) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Pipe):
            return self.pipe(node, dot)
        if isinstance(node, Ident):
            return self.command([node], dot, None, False)
        if isinstance(node, Field):
            if isinstance(node.base, Pipe):
                value = self.pipe(node.base, dot)
            elif node.base == ".":
                value = dot
            else:
                value = self.lookup_var(node.base)
            for name in node.names:
                value = _field(value, name)
            return value
        raise TemplateError(f"template: unexpected {node!r}")


def _field(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name, MISSING)
    if isinstance(value, _Missing) or value is None:
        return BROKEN
    kind = "[]interface {}" if isinstance(value, list) else type(value).__name__
    raise TemplateError(f"template: can't evaluate field {name} in type {kind}")


def render(template: str, data: Any) -> str:
    """Run ``template`` over ``data``; TemplateError when it does not parse or fails."""
    tree = parse(template)
    ex = _Exec(data)
    ex.run(tree, data)
    return "".join(ex.out)
