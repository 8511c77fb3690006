"""The controllers' clock. Timestamps are parsed and written by :mod:`schemas.status`
(``parse_time``, ``format_time``): RFC 3339 strings in UTC with a ``Z``.

Controllers take ``now`` as an aware ``datetime`` so that plans are pure and tests use a fake clock.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
