"""Timestamps as the API writes them: RFC 3339 strings in UTC with a ``Z`` (``2024-05-01T12:00:00Z``).

Controllers take ``now`` as an aware ``datetime`` so that plans are pure and tests use a fake clock.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_time(value: str | None) -> datetime | None:
    """An API timestamp as an aware datetime; None for None, empty or unparseable values."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """An aware datetime in the API's form, seconds precision (as metav1.Time)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
