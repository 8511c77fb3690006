"""Priority levels, as kube-apiserver's API Priority and Fairness has them. Pure: no I/O.

Every api request is *classified* into a priority level (Kubernetes' default FlowSchemas):

* ``leader-election``: the control plane's Leases in ``kube-system``;
* ``system-nodes``: the kubelets (``node-*`` users) and every renewal of a node's Lease in
  ``kube-node-lease``, whoever sends it (the hollow fleet renews under the control plane's name);
* ``workload-high``: the control plane's own other requests (its controllers);
* ``global-default``: every other authenticated user (viewers, editors, admins);
* ``catch-all``: requests whose user is not known.

Each level has its own seats (its assured concurrency) and borrows none, so a flood in one level
waits in that level: however many lists viewers send, node heartbeats find their own seats free.
Within a level, requests queue per flow (the user) and are served round robin over the flows
that wait; a non-system flow deeper than ``per_flow`` is refused with 429.

A request occupies as many seats as its *width*, as APF's work estimator charges it: one for a
get or a write, and for a list or a watch's initial list one per ``OBJECTS_PER_SEAT`` objects the
store must read (the resource's object count as last seen), at most ``MAX_WIDTH`` and never more
than its level has. So a viewer's list over ten thousand pods takes all of global-default's seats,
and the lists in flight (and the copies of the objects they hold in memory) stay few.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bus.auth import CONTROLPLANE, NODE_PREFIX

LEADER_ELECTION = "leader-election"
SYSTEM_NODES = "system-nodes"
WORKLOAD_HIGH = "workload-high"
GLOBAL_DEFAULT = "global-default"
CATCH_ALL = "catch-all"

NODE_LEASE_NAMESPACE = "kube-node-lease"
OBJECTS_PER_SEAT = 100  # kube-apiserver's work estimator: 100 objects a seat
MAX_WIDTH = 10  # its maximum seats for one request
PER_FLOW = 64  # requests one non-system flow may have waiting
LIST_VERBS = frozenset({"list", "watch"})


def level_seats(concurrency: int) -> dict[str, int]:
    """The seats of each level for a responder of ``concurrency`` (the control plane keeps the
    most, the nodes a half, users an eighth, as kube-apiserver's default shares weigh them)."""
    return {
        LEADER_ELECTION: max(2, concurrency // 16),
        SYSTEM_NODES: max(4, concurrency // 2),
        WORKLOAD_HIGH: max(4, concurrency),
        GLOBAL_DEFAULT: max(2, concurrency // 4),
        CATCH_ALL: 1,
    }


def classify(flow: str, is_system: bool, verb: str, payload: dict[str, Any]) -> str:
    """The priority level of a request from ``flow`` (see the module's list)."""
    resource = payload.get("resource")
    namespace = payload.get("namespace")
    if resource in ("leases", "lease") and is_system:
        if namespace == NODE_LEASE_NAMESPACE:
            return SYSTEM_NODES
        if namespace == "kube-system" and flow == CONTROLPLANE:
            return LEADER_ELECTION
    if flow.startswith(NODE_PREFIX):
        return SYSTEM_NODES
    if is_system:
        return WORKLOAD_HIGH
    if flow == "unknown":
        return CATCH_ALL
    return GLOBAL_DEFAULT


def width(verb: str, objects: int, seats: int) -> int:
    """Seats a request occupies: a list (or a watch's initial list) over ``objects`` objects
    costs one per ``OBJECTS_PER_SEAT``; anything else one. Never more than the level's seats."""
    if verb not in LIST_VERBS:
        return 1
    return max(1, min(MAX_WIDTH, seats, math.ceil(objects / OBJECTS_PER_SEAT)))


@dataclass
class Level:
    """One priority level: per-flow queues served round robin, and its seats."""

    name: str
    seats: int
    per_flow: int = PER_FLOW
    total: int = 4096
    in_use: int = 0
    flows: dict[str, deque[tuple[Any, int]]] = field(default_factory=dict)
    order: deque[str] = field(default_factory=deque)  # flows with requests waiting, round robin
    size: int = 0

    def push(self, flow: str, item: Any, seats: int, is_system: bool) -> str | None:
        """Queue ``item`` needing ``seats``; the reason it is refused instead, or None."""
        queue = self.flows.get(flow)
        # system flows (one connection carries every controller's writes) share only the total
        if queue is not None and not is_system and len(queue) >= self.per_flow:
            return f"{len(queue)} requests of {flow} are waiting in priority level {self.name}"
        if self.size >= self.total:
            return f"{self.size} requests are waiting in priority level {self.name}"
        if queue is None:
            queue = self.flows[flow] = deque()
        if not queue:
            self.order.append(flow)
        queue.append((item, min(max(1, seats), self.seats)))
        self.size += 1
        return None

    def pop(self) -> tuple[Any, int] | None:
        """The next request of the round robin and its seats, taken, when its seats are free;
        None when nothing waits or the next one must wait for seats (it keeps its turn, so a
        wide list is not passed over for ever by narrow ones)."""
        if not self.order:
            return None
        flow = self.order[0]
        queue = self.flows[flow]
        item, seats = queue[0]
        if self.in_use + seats > self.seats:
            return None
        self.order.popleft()
        queue.popleft()
        self.size -= 1
        if queue:
            self.order.append(flow)
        else:
            del self.flows[flow]
        self.in_use += seats
        return item, seats

    def release(self, seats: int) -> None:
        self.in_use -= seats


def make_levels(concurrency: int, per_flow: int = PER_FLOW) -> dict[str, Level]:
    return {
        name: Level(name, seats, per_flow=per_flow, total=concurrency * 64)
        for name, seats in level_seats(concurrency).items()
    }
