"""Limits every request body meets before anything else looks at it.

Kubernetes refuses objects over 1.5 MiB (etcd's request limit); jetkube does the same, measured on
the msgpack the store would write. Nesting deeper than ``MAX_DEPTH`` is refused too: no Kubernetes
object nests that deep, and refusing early keeps a hostile body from reaching recursive code.
"""

from __future__ import annotations

import re
from typing import Any

from bus.codec import encode
from schemas.errors import BadRequest, RequestEntityTooLarge

MAX_OBJECT_BYTES = 1_572_864  # 1.5 MiB, as Kubernetes (etcd) allows
MAX_DEPTH = 64


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` nests dicts/lists deeper than ``limit`` (level by level: no recursion).

    Every request body passes here, so each level is one comprehension over its containers."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            v
            for item in level
            for v in (item.values() if isinstance(item, dict) else item)
            if isinstance(v, dict | list)
        ]
    return False


def check_body(body: Any) -> None:
    if isinstance(body, dict) and body.get("metadata") is not None and not isinstance(body["metadata"], dict):
        raise BadRequest(f"metadata: Invalid value: {type(body['metadata']).__name__}: must be an object")
    if depth_exceeds(body):
        raise BadRequest(f"the object nests deeper than {MAX_DEPTH} levels")
    size = len(encode(body))
    if size > MAX_OBJECT_BYTES:
        raise RequestEntityTooLarge(
            f"the object is {size} bytes; the limit is {MAX_OBJECT_BYTES} bytes (1.5 MiB), as in Kubernetes"
        )


_SUBJECT_UNSAFE = re.compile(r"[*>/\x00-\x20]")  # wildcards, the path separator, blanks, controls


def check_key_part(value: str, what: str) -> None:
    """A name or namespace becomes part of a NATS subject: wildcards, blanks and empty tokens
    would address other objects, so they are refused before any lookup."""
    if (
        not value
        or _SUBJECT_UNSAFE.search(value)
        or value.startswith(".")
        or value.endswith(".")
        or ".." in value
    ):
        raise BadRequest(
            f'invalid {what} "{value[:80]}": may not contain "*", ">", "/", blanks or empty dot parts'
        )
