"""Is a history of a compare-and-set register linearizable? (Wing & Gong's search with Lowe's cache,
as Porcupine and Knossos do it.)

A history is linearizable when every operation can be given one instant between its invocation and
its completion such that, taken in that order, each operation's result is what a single register
would have given. ``info`` operations (unknown outcome) complete at infinity: they may take effect
at any time after their invocation, or never (a cas whose compare fails at that point does
nothing; one placed last changes nothing anyone saw).

The search walks the events in time order, trying to place ("linearize") each pending operation
whose invocation has been reached; reaching the completion of an operation not yet placed means an
earlier choice was wrong, so it backtracks. The cache of (placed set, register value) states keeps
it from exploring the same state twice, which makes the usual histories (few concurrent
processes) fast. Keys are independent registers and are checked one by one.

Pure: no I/O. :func:`check_history` takes the events of :mod:`cli.chaos.history`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from cli.chaos.history import Event, Operation, operations


@dataclass
class KeyResult:
    key: str
    linearizable: bool
    operations: int
    # when not linearizable: the operation whose completion no order could reach, and the longest
    # prefix the search placed before it (indexes into the history)
    stuck_at: Operation | None = None
    longest_prefix: list[int] = field(default_factory=list)


@dataclass
class Result:
    keys: list[KeyResult]

    @property
    def linearizable(self) -> bool:
        return all(k.linearizable for k in self.keys)

    @property
    def violations(self) -> list[KeyResult]:
        return [k for k in self.keys if not k.linearizable]


def step(state: Hashable, op: Operation) -> tuple[bool, Hashable]:
    """The register's model: whether ``op`` can take effect on ``state``, and the state after it."""
    if op.f == "read":
        return state == op.value, state
    if op.f == "write":
        return True, op.value
    expected, new = op.value
    if op.status == "info":  # it may have applied, or its compare may have failed: either is legal
        return True, (new if state == expected else state)
    if op.applied is False:
        return state != expected, state
    return state == expected, new


class _Entry:
    __slots__ = ("is_call", "match", "next", "op_id", "prev")

    def __init__(self, op_id: int, is_call: bool) -> None:
        self.op_id = op_id
        self.is_call = is_call
        self.match: _Entry | None = None
        self.prev: _Entry | None = None
        self.next: _Entry | None = None


def _entries(ops: list[Operation]) -> _Entry:
    events: list[tuple[float, int, int]] = []
    for i, op in enumerate(ops):
        events.append((op.call, 0, i))  # at equal times invocations first: more overlap, fewer false alarms
        events.append((op.ret, 1, i))
    events.sort()
    head = _Entry(-1, False)
    calls: dict[int, _Entry] = {}
    last = head
    for _, kind, i in events:
        entry = _Entry(i, kind == 0)
        if kind == 0:
            calls[i] = entry
        else:
            calls[i].match = entry
        entry.prev, last.next = last, entry
        last = entry
    return head


def _lift(entry: _Entry) -> None:
    """Take a call and its completion out of the list."""
    for e in (entry, entry.match):
        assert e is not None and e.prev is not None
        e.prev.next = e.next
        if e.next is not None:
            e.next.prev = e.prev


def _unlift(entry: _Entry) -> None:
    for e in (entry.match, entry):
        assert e is not None and e.prev is not None
        e.prev.next = e
        if e.next is not None:
            e.next.prev = e


def check_operations(ops: list[Operation], initial: Hashable = None, key: str = "") -> KeyResult:
    head = _entries(ops)
    state: Hashable = initial
    placed = 0
    cache: set[tuple[int, Hashable]] = set()
    stack: list[tuple[_Entry, Hashable]] = []
    longest: list[int] = []
    entry = head.next
    while head.next is not None:
        assert entry is not None
        if entry.is_call:
            legal, after = step(state, ops[entry.op_id])
            if legal:
                now = placed | (1 << entry.op_id)
                if (now, after) not in cache:
                    cache.add((now, after))
                    stack.append((entry, state))
                    state, placed = after, now
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
            continue
        # the completion of an operation not yet placed: undo the last choice
        if len(stack) > len(longest):
            longest = [ops[e.op_id].index for e, _ in stack]
        if not stack:
            return KeyResult(key, False, len(ops), ops[entry.op_id], longest)
        top, state = stack.pop()
        placed &= ~(1 << top.op_id)
        _unlift(top)
        entry = top.next
    return KeyResult(key, True, len(ops))


def check_history(events: Iterable[Event], initial: Hashable = None) -> Result:
    """Every key's register checked on its own."""
    by_key = operations(events)
    return Result([check_operations(ops, initial, key) for key, ops in sorted(by_key.items())])
