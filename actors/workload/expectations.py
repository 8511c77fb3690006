"""Controller expectations, as client-go's ``ControllerExpectations``.

After a controller sends N creates (or deletes) for an owner, its informer has not seen them yet; a
reconcile in between would count the old pods and send the same creates again. So the controller
records "expect N adds / M deletes" for the owner key, the pod event handlers lower the counts as
the informer observes each pod (a pod gaining a ``deletionTimestamp`` counts as deleted), and the
controller only acts again once the expectations are met or have expired (5 minutes, in case an
event was lost). Failed creates and deletes lower the counts at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

EXPECTATIONS_TTL = 300.0


@dataclass
class _Expectation:
    adds: int = 0
    dels: int = 0
    stamp: float = field(default_factory=time.monotonic)
    # uids of pods we asked to delete, so a deletion observed twice is counted once
    deleting: set[str] = field(default_factory=set)


class Expectations:
    """Per-owner-key outstanding creates and deletes."""

    def __init__(self, ttl: float = EXPECTATIONS_TTL) -> None:
        self.ttl = ttl
        self._items: dict[str, _Expectation] = {}

    def satisfied(self, key: str) -> bool:
        exp = self._items.get(key)
        if exp is None:
            return True
        if exp.adds <= 0 and exp.dels <= 0:
            return True
        return time.monotonic() - exp.stamp > self.ttl

    def expect_creations(self, key: str, count: int) -> None:
        self._items[key] = _Expectation(adds=count)

    def expect_deletions(self, key: str, uids: list[str]) -> None:
        self._items[key] = _Expectation(dels=len(uids), deleting=set(uids))

    def creation_observed(self, key: str) -> None:
        exp = self._items.get(key)
        if exp is not None and exp.adds > 0:
            exp.adds -= 1

    def deletion_observed(self, key: str, uid: str | None = None) -> None:
        exp = self._items.get(key)
        if exp is None or exp.dels <= 0:
            return
        if uid is not None and exp.deleting:
            if uid not in exp.deleting:
                return
            exp.deleting.discard(uid)
        exp.dels -= 1

    def forget(self, key: str) -> None:
        self._items.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        exp = self._items.get(key)
        return (exp.adds, exp.dels) if exp else (0, 0)
