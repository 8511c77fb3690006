"""Ages and durations in kubectl's format: moved to :mod:`schemas.printing.age` (the dashboard shares
them); this module keeps the CLI's import path."""

from schemas.printing.age import age, between, human_duration, now_utc, parse_time

__all__ = ["age", "between", "human_duration", "now_utc", "parse_time"]
