"""Reading ``-f FILE|DIR|-``: multi-document YAML or JSON, ``List`` kinds flattened, ``-R``.

:func:`parse_documents` is pure (text in, objects out); :func:`read_sources` does the file I/O.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from schemas.errors import BadRequest

EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Manifest:
    source: str  # the file it came from ("-" for stdin)
    obj: dict[str, Any]


#: libyaml's loader when PyYAML has it: the same documents, about ten times faster (5,000 pods:
#: 1.9 s against 18 s on a loaded machine), which is most of a big ``apply -f``'s client time.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SEPARATOR = re.compile(r"^---[ \t\r]*$", re.MULTILINE)


def split_documents(text: str) -> list[str]:
    """The documents of a YAML stream, cut where kubectl's reader cuts: a line of ``---`` alone."""
    return SEPARATOR.split(text)


def json_values(text: str) -> list[Any]:
    """Every JSON value in ``text``, one after another (kubectl's JSON decoder reads a stream)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return values
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)


def parse_documents(text: str, source: str) -> list[dict[str, Any]]:
    """Every object in ``text``; ``kind: List`` (and ``*List``) items flattened; empty docs skipped.

    The stream is cut at ``---`` lines and each document is JSON (one or more values, one after
    another, as kubectl reads a ``.json`` file) when it starts with ``{`` or ``[``, YAML otherwise.
    On purpose more than kubectl 1.32: when a file *starts* with JSON, kubectl reads the whole file
    as a JSON stream, sends the first object and then stops at the first ``---`` with ``json:
    invalid character '-' in numeric literal``; jetkube reads every document.
    """
    docs: list[Any] = []
    for chunk in split_documents(text):
        try:
            if chunk.lstrip().startswith(("{", "[")):
                try:
                    docs.extend(json_values(chunk))
                    continue
                except ValueError:
                    pass  # a YAML flow mapping ({a: 1}) is YAML, not JSON
            docs.extend(yaml.load_all(chunk, Loader=LOADER))
        except (yaml.YAMLError, ValueError) as exc:
            detail = " ".join(str(exc).split())
            raise BadRequest(f"error parsing {source}: {detail}") from None
    out: list[dict[str, Any]] = []
    for doc in docs:
        _flatten(doc, source, out)
    return out


def _flatten(doc: Any, source: str, out: list[dict[str, Any]]) -> None:
    if doc is None:
        return
    if isinstance(doc, list):
        for item in doc:
            _flatten(item, source, out)
        return
    if not isinstance(doc, dict):
        raise BadRequest(f"error validating {source}: an object must be a mapping, not {type(doc).__name__}")
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            _flatten(item, source, out)
        return
    if not doc.get("kind"):
        raise BadRequest(f"error validating data from {source}: kind not set")
    if not doc.get("apiVersion"):
        raise BadRequest(f"error validating data from {source}: apiVersion not set")
    out.append(doc)


def files_of(path: Path, recursive: bool) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise BadRequest(f'the path "{path}" does not exist')
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix in EXTENSIONS)


def read_sources(
    sources: Iterable[str], recursive: bool = False, stdin: Any = None, verb: str = "apply"
) -> list[Manifest]:
    """The objects of every ``-f`` source, in order."""
    sources = list(sources)
    if not sources:
        raise BadRequest("must specify one of -f and -k")
    out: list[Manifest] = []
    for source in sources:
        if source == "-":
            text = (stdin or sys.stdin).read()
            out.extend(Manifest("-", obj) for obj in parse_documents(text, "STDIN"))
            continue
        for path in files_of(Path(source), recursive):
            try:
                text = path.read_text()
            except OSError as exc:
                raise BadRequest(f"cannot read {path}: {exc.strerror}") from None
            out.extend(Manifest(str(path), obj) for obj in parse_documents(text, str(path)))
    if not out:
        raise BadRequest(f"no objects passed to {verb}")
    return out
