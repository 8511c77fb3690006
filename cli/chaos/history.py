"""A recorded history of operations, as Jepsen records one: each client's invocations and completions.

Every operation is two events of the same ``process``: ``invoke`` when the client sends it, then
``ok`` (it happened, with its result), ``fail`` (it certainly did not happen) or ``info`` (unknown:
a time-out, a lost connection; it may have happened, at any time after its invocation). A process
runs one operation at a time. ``time`` is seconds on one monotonic clock.

Operations on a compare-and-set register (the checkers' model, cli/chaos/linearizable.py):

* ``read``: ``value`` is the value read (on ``ok``);
* ``write``: ``value`` is the value written;
* ``cas``: ``value`` is ``[expected, new]``; an ``ok`` cas has ``applied`` true, or false when the
  register did not hold ``expected`` (a Conflict: it happened, as a read that saw another value).

:func:`operations` pairs the events into :class:`Operation` per key, the checkers' input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

EventType = Literal["invoke", "ok", "fail", "info"]
Function = Literal["read", "write", "cas"]


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    process: int
    type: EventType
    f: Function
    key: str = "r"
    value: Any = None
    applied: bool | None = None  # an ok cas: whether the compare held
    time: float
    error: str | None = None


@dataclass(frozen=True)
class Operation:
    """One invocation and its completion. ``ret`` is infinite for an ``info`` one (may still land)."""

    process: int
    f: Function
    key: str
    value: Any
    call: float
    ret: float
    status: Literal["ok", "info"]
    applied: bool | None = None
    index: int = 0  # the invocation's position in the history, for reports


class HistoryError(ValueError):
    """A malformed history (a completion without an invocation, two open operations of a process)."""


def operations(events: Iterable[Event]) -> dict[str, list[Operation]]:
    """Pair invocations with completions, per key. Failed operations are left out (they did not
    happen), and so are reads whose result is unknown (they change nothing)."""
    open_ops: dict[int, tuple[int, Event]] = {}
    by_key: dict[str, list[Operation]] = {}
    for index, event in enumerate(events):
        if event.type == "invoke":
            if event.process in open_ops:
                raise HistoryError(f"event {index}: process {event.process} invoked twice without completing")
            open_ops[event.process] = (index, event)
            continue
        if event.process not in open_ops:
            raise HistoryError(f"event {index}: process {event.process} completed {event.f} it never invoked")
        at, call = open_ops.pop(event.process)
        if event.f != call.f or event.key != call.key:
            raise HistoryError(f"event {index}: completes {event.f} {event.key}, invoked {call.f} {call.key}")
        if event.type == "fail" or (event.type == "info" and call.f == "read"):
            continue
        value = event.value if (call.f == "read" and event.type == "ok") else call.value
        by_key.setdefault(call.key, []).append(
            Operation(
                process=call.process,
                f=call.f,
                key=call.key,
                value=value,
                call=call.time,
                ret=event.time if event.type == "ok" else math.inf,
                status="ok" if event.type == "ok" else "info",
                applied=event.applied,
                index=at,
            )
        )
    for process, (at, call) in open_ops.items():  # never completed: as info
        if call.f != "read":
            by_key.setdefault(call.key, []).append(
                Operation(process, call.f, call.key, call.value, call.time, math.inf, "info", None, at)
            )
    return by_key


def save(events: Iterable[Event], path: Path) -> None:
    with path.open("w") as f:
        for event in events:
            f.write(event.model_dump_json(exclude_none=True) + "\n")


def load(path: Path) -> list[Event]:
    return [Event.model_validate(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
