"""``jetkube edit``'s text, pure: the buffer the editor opens, and reading it back.

As kubectl: a header of ``#`` lines explains the rules; after a failed save the buffer reopens with
the error as ``#`` lines under the header and the user's own text kept below; lines beginning with
``#`` are ignored when reading back, and an empty buffer cancels.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from cli.printers.output import to_json, to_yaml
from schemas.errors import BadRequest, Invalid, JetkubeError

HEADER = (
    "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
    "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
    "# reopened with the relevant failures.\n"
    "#\n"
)


def render(obj: dict[str, Any], fmt: str) -> str:
    """The object as the editor shows it: without ``metadata.managedFields`` (kubectl's default; the
    api keeps an object's entries when an update leaves them out)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return to_json(obj) + "\n" if fmt == "json" else to_yaml(obj)


def buffer(body: str, error_lines: list[str] | None = None) -> str:
    """The editor's text: the header, the error (if a save failed), then ``body``."""
    errors = "".join(f"# {line}\n" if line else "#\n" for line in error_lines or [])
    return HEADER + (errors + "#\n" if errors else "") + body


def strip_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))


def parse(text: str, fmt: str) -> dict[str, Any] | None:
    """The edited object; None for an empty buffer (cancel). BadRequest when it does not parse."""
    body = strip_comments(text)
    if not body.strip():
        return None
    try:
        obj = json.loads(body) if fmt == "json" else yaml.safe_load(body)
    except (ValueError, yaml.YAMLError) as exc:
        raise BadRequest(f"error parsing edited object: {' '.join(str(exc).split())}") from None
    if not isinstance(obj, dict):
        raise BadRequest("error parsing edited object: the object must be a mapping")
    return obj


def error_lines(err: JetkubeError, what: str) -> list[str]:
    """The lines kubectl puts at the top of the reopened buffer."""
    if isinstance(err, Invalid):
        return [f"{what} was not valid:", *(f"* {cause}" for cause in err.causes)]
    return [f"{what} could not be saved:", f"* {err.message}"]
