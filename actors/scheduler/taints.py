"""Taints and tolerations, decided per distinct set of taints rather than per node.

Most clusters have a handful of distinct taint sets (none; the control-plane taint; a dedicated
pool's). Each node holds the id of its set (:class:`TaintSets`), and a pod's tolerations are
checked once per set (:class:`TolerationTable`); the per-node answer is one numpy gather.

Node readiness is expressed as Kubernetes 1.2x expresses it to the scheduler, as taints: a node
whose Ready condition is False (or missing) carries ``node.kubernetes.io/not-ready:NoSchedule``,
one whose Ready is Unknown carries ``node.kubernetes.io/unreachable:NoSchedule`` (the node
lifecycle controller adds them in Kubernetes; here the scheduler derives them from the condition so
a stale node is never chosen, and pods that tolerate them, such as DaemonSet pods, still fit).
Likewise a node whose ``NetworkUnavailable`` condition is True (its flannel agent has not set its
pod network up yet) carries ``node.kubernetes.io/network-unavailable:NoSchedule``: only pods that
tolerate it (host-network DaemonSet pods) land there.
The FailedScheduling reason is therefore Kubernetes' own:
``node(s) had untolerated taint {node.kubernetes.io/not-ready: }``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from actors.scheduler.podinfo import Toleration

Taint = tuple[str, str, str]  # key, value, effect

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"


def tolerates(tol: Toleration, taint: Taint) -> bool:
    """Kubernetes' ``Toleration.ToleratesTaint``."""
    key, op, value, effect = tol
    t_key, t_value, t_effect = taint
    if effect and effect != t_effect:
        return False
    if key and key != t_key:
        return False
    if op == "Exists":
        return True
    if op in ("Equal", ""):
        return value == t_value
    return False


def tolerated(tols: tuple[Toleration, ...], taint: Taint) -> bool:
    return any(tolerates(t, taint) for t in tols)


def tolerates_unschedulable(tols: tuple[Toleration, ...]) -> bool:
    """A pod that tolerates the unschedulable taint may land on a cordoned node."""
    return tolerated(tols, (UNSCHEDULABLE, "", NO_SCHEDULE))


def ready_status(node: dict[str, Any]) -> str:
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return str(cond.get("status") or "Unknown")
    return "False"


def network_unavailable(node: dict[str, Any]) -> bool:
    return any(
        cond.get("type") == "NetworkUnavailable" and cond.get("status") == "True"
        for cond in (node.get("status") or {}).get("conditions") or ()
    )


def node_taints(node: dict[str, Any]) -> tuple[Taint, ...]:
    """The node's taints plus those its Ready and NetworkUnavailable conditions imply (see the
    module docstring)."""
    taints = [
        (str(t.get("key") or ""), str(t.get("value") or ""), str(t.get("effect") or ""))
        for t in (node.get("spec") or {}).get("taints") or ()
    ]
    ready = ready_status(node)
    if ready != "True":
        implied = (UNREACHABLE if ready == "Unknown" else NOT_READY, "", NO_SCHEDULE)
        if not any(t[0] == implied[0] and t[2] in (NO_SCHEDULE, NO_EXECUTE) for t in taints):
            taints.append(implied)
    if network_unavailable(node) and not any(t[0] == NETWORK_UNAVAILABLE for t in taints):
        taints.append((NETWORK_UNAVAILABLE, "", NO_SCHEDULE))
    return tuple(taints)


def untolerated_reason(taint: Taint) -> str:
    return f"node(s) had untolerated taint {{{taint[0]}: {taint[1]}}}"


class TolerationTable:
    """One toleration list checked against every known taint set (extended as sets appear)."""

    __slots__ = ("ok", "prefer", "reasons", "tols")

    def __init__(self, tols: tuple[Toleration, ...]) -> None:
        self.tols = tols
        self.ok = np.zeros(0, dtype=bool)  # no untolerated NoSchedule/NoExecute taint
        self.prefer = np.zeros(0, dtype=np.int64)  # untolerated PreferNoSchedule taints
        self.reasons: list[str | None] = []  # the first untolerated taint's reason

    def extend(self, sets: list[tuple[Taint, ...]]) -> None:
        start = len(self.reasons)
        if start == len(sets):
            return
        ok, prefer = [], []
        for taints in sets[start:]:
            reason = None
            count = 0
            for taint in taints:
                if taint[2] == PREFER_NO_SCHEDULE:
                    count += not tolerated(self.tols, taint)
                elif taint[2] in (NO_SCHEDULE, NO_EXECUTE) and reason is None:
                    if not tolerated(self.tols, taint):
                        reason = untolerated_reason(taint)
            self.reasons.append(reason)
            ok.append(reason is None)
            prefer.append(count)
        self.ok = np.concatenate([self.ok, np.array(ok, dtype=bool)])
        self.prefer = np.concatenate([self.prefer, np.array(prefer, dtype=np.int64)])


class TaintSets:
    """Interns taint sets to small ids; caches one :class:`TolerationTable` per toleration list."""

    def __init__(self, max_tables: int = 1024) -> None:
        self.sets: list[tuple[Taint, ...]] = [()]
        self.ids: dict[tuple[Taint, ...], int] = {(): 0}
        self._tables: dict[tuple[Toleration, ...], TolerationTable] = {}
        self._max_tables = max_tables

    def id_of(self, taints: tuple[Taint, ...]) -> int:
        tid = self.ids.get(taints)
        if tid is None:
            tid = self.ids[taints] = len(self.sets)
            self.sets.append(taints)
        return tid

    def table(self, tols: tuple[Toleration, ...]) -> TolerationTable:
        table = self._tables.get(tols)
        if table is None:
            if len(self._tables) >= self._max_tables:
                self._tables.clear()
            table = self._tables[tols] = TolerationTable(tols)
        table.extend(self.sets)
        return table
