"""The compare-and-set register checker on histories known to be linearizable, and known not to be."""

from __future__ import annotations

import random

import pytest

from cli.chaos.history import Event, HistoryError, operations
from cli.chaos.linearizable import check_history


def ev(process: int, type_: str, f: str, value=None, t: float = 0.0, applied=None, key: str = "r") -> Event:
    return Event(process=process, type=type_, f=f, value=value, time=t, applied=applied, key=key)


def op(
    process: int, f: str, value, call: float, ret: float | None, *, result=None, applied=None, status="ok"
):
    """Two events: invoke at ``call``, completion at ``ret`` (``status`` ok/info/fail)."""
    done = [] if ret is None else [ev(process, status, f, result if f == "read" else value, ret, applied)]
    return [ev(process, "invoke", f, None if f == "read" else value, call), *done]


def history(*ops: list[Event]) -> list[Event]:
    events = [e for o in ops for e in o]
    return sorted(events, key=lambda e: (e.time, e.type != "invoke"))


GOOD = {
    "sequential write then read": history(op(1, "write", 1, 0, 1), op(2, "read", None, 2, 3, result=1)),
    "concurrent read may see either": history(
        op(1, "write", 1, 0, 10), op(2, "read", None, 1, 2, result=None)
    ),
    "concurrent read sees the new value": history(
        op(1, "write", 1, 0, 10), op(2, "read", None, 1, 2, result=1)
    ),
    "cas chain": history(
        op(1, "write", 0, 0, 1),
        op(1, "cas", [0, 1], 2, 3, applied=True),
        op(2, "cas", [0, 5], 4, 5, applied=False),
        op(2, "read", None, 6, 7, result=1),
    ),
    "two concurrent increments, one conflicts": history(
        op(1, "write", 0, 0, 1),
        op(1, "cas", [0, 1], 2, 6, applied=True),
        op(2, "cas", [0, 1], 3, 5, applied=False),  # lost the race: linearized after p1's
        op(3, "read", None, 7, 8, result=1),
    ),
    "a timed-out cas that landed": history(
        op(1, "write", 0, 0, 1),
        op(1, "cas", [0, 7], 2, 3, status="info"),
        op(2, "read", None, 4, 5, result=7),
    ),
    "a timed-out cas that did not land": history(
        op(1, "write", 0, 0, 1),
        op(1, "cas", [0, 7], 2, 3, status="info"),
        op(2, "read", None, 4, 5, result=0),
    ),
    "a timed-out write seen late": history(
        op(1, "write", 3, 0, 1, status="info"),
        op(2, "read", None, 2, 3, result=None),
        op(2, "read", None, 10, 11, result=3),
    ),
    "a failed write changes nothing": history(
        op(1, "write", 9, 0, 1, status="fail"), op(2, "read", None, 2, 3, result=None)
    ),
}

BAD = {
    "stale read after an acknowledged write": history(
        op(1, "write", 1, 0, 1), op(2, "read", None, 2, 3, result=None)
    ),
    "a lost acknowledged write": history(
        op(1, "write", 0, 0, 1), op(1, "write", 2, 2, 3), op(2, "read", None, 4, 5, result=0)
    ),
    "two cas from the same value both applied": history(
        op(1, "write", 0, 0, 1),
        op(1, "cas", [0, 1], 2, 6, applied=True),
        op(2, "cas", [0, 1], 3, 5, applied=True),  # a lost update: both increments took 0 -> 1
        op(3, "read", None, 7, 8, result=1),
    ),
    "a value nobody wrote": history(op(1, "write", 1, 0, 1), op(2, "read", None, 2, 3, result=5)),
    "reads going back in time": history(
        op(1, "write", 1, 0, 1),
        op(1, "write", 2, 2, 10),
        op(2, "read", None, 3, 4, result=2),
        op(3, "read", None, 5, 6, result=1),
    ),
    "a cas that failed although the value matched": history(
        op(1, "write", 0, 0, 1), op(2, "cas", [0, 1], 2, 3, applied=False)
    ),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_linearizable_histories_pass(name: str) -> None:
    assert check_history(GOOD[name]).linearizable


@pytest.mark.parametrize("name", sorted(BAD))
def test_violations_are_found(name: str) -> None:
    result = check_history(BAD[name])
    assert not result.linearizable
    assert result.violations[0].stuck_at is not None


def test_keys_are_independent_registers() -> None:
    events = [
        ev(1, "invoke", "write", 1, 0, key="a"),
        ev(1, "ok", "write", 1, 1, key="a"),
        ev(2, "invoke", "read", None, 2, key="b"),
        ev(2, "ok", "read", None, 3, key="b"),  # b was never written: None is right
        ev(2, "invoke", "read", None, 4, key="a"),
        ev(2, "ok", "read", 1, 5, key="a"),
    ]
    assert check_history(events).linearizable


def test_malformed_histories_are_refused() -> None:
    with pytest.raises(HistoryError, match="never invoked"):
        operations([ev(1, "ok", "write", 1, 1)])
    with pytest.raises(HistoryError, match="invoked twice"):
        operations([ev(1, "invoke", "write", 1, 0), ev(1, "invoke", "write", 2, 1)])


def simulated_counter(
    seed: int, processes: int = 5, per_process: int = 30, lose_update: bool = False
) -> list[Event]:
    """A real-looking history: clients increment one counter by read-then-cas against a single
    atomic register, with overlapping operations; ``lose_update`` makes one cas apply although its
    compare should have failed."""
    rng = random.Random(seed)
    value = 0
    events: list[Event] = []
    t = 0.0
    pending: dict[int, tuple[str, list[int] | None, float]] = {}
    remaining = {p: per_process for p in range(processes)}
    read_value: dict[int, int] = {}
    lost = False
    while any(remaining.values()) or pending:
        t += rng.random()
        p = rng.choice(list(range(processes)))
        if p in pending:  # complete it: the effect happens at completion (inside its interval)
            f, arg, _ = pending.pop(p)
            if f == "read":
                read_value[p] = value
                events.append(ev(p, "ok", "read", value, t))
            else:
                assert arg is not None
                applied = value == arg[0]
                if not applied and lose_update and not lost:
                    applied, lost = True, True
                if applied:
                    value = arg[1]
                events.append(ev(p, "ok", "cas", arg, t, applied=applied))
        elif remaining[p]:
            if p in read_value:
                arg = [read_value.pop(p), 0]
                arg[1] = arg[0] + 1
                pending[p] = ("cas", arg, t)
                events.append(ev(p, "invoke", "cas", arg, t))
                remaining[p] -= 1
            else:
                pending[p] = ("read", None, t)
                events.append(ev(p, "invoke", "read", None, t))
    return [ev(9, "invoke", "write", 0, -2), ev(9, "ok", "write", 0, -1), *events]


@pytest.mark.parametrize("seed", range(5))
def test_simulated_counters(seed: int) -> None:
    assert check_history(simulated_counter(seed)).linearizable
    assert not check_history(simulated_counter(seed, lose_update=True)).linearizable
