"""CronJob schedules with croniter: standard five fields and the ``@hourly``-style macros, in the
CronJob's ``timeZone`` (an IANA name; UTC when unset, where Kubernetes uses the controller's zone).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from schemas.errors import BadRequest

MAX_MISSED = 100


def zone(name: str | None) -> tzinfo:
    """The zone of ``spec.timeZone``; BadRequest for an unknown name."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(f"unknown time zone {name!r}") from exc


class Schedule:
    """A parsed schedule; BadRequest for one croniter cannot read."""

    def __init__(self, expr: str, tz: tzinfo = UTC) -> None:
        if not expr or not croniter.is_valid(expr):
            raise BadRequest(f"unparseable schedule {expr!r}")
        self.expr = expr
        self.tz = tz

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled time strictly after ``moment``."""
        nxt: datetime = croniter(self.expr, moment.astimezone(self.tz)).get_next(datetime)
        return nxt.astimezone(UTC)

    def latest_at_or_before(self, moment: datetime) -> datetime:
        prev: datetime = croniter(self.expr, (moment + timedelta(seconds=1)).astimezone(self.tz)).get_prev(
            datetime
        )
        return prev.astimezone(UTC)

    def unmet(self, earliest: datetime, now: datetime) -> tuple[datetime | None, int]:
        """The most recent scheduled time in ``(earliest, now]`` and how many there are (capped at
        ``MAX_MISSED + 1``), as Kubernetes' ``mostRecentScheduleTime``."""
        first = self.next_after(earliest)
        if first > now:
            return None, 0
        count = 1
        t = first
        while count <= MAX_MISSED:
            t = self.next_after(t)
            if t > now:
                return self.latest_at_or_before(now), count
            count += 1
        return self.latest_at_or_before(now), count
