"""The actor's reactions, with in-memory informers and a fake store: binds, conflicts, reports."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from actors.runtime.informer import Informer
from actors.runtime.listwatch import Event
from actors.scheduler.actor import SchedulerActor
from schemas.errors import Conflict, JetkubeError
from tests.unit.runtime.fakes import FakeListWatcher, eventually
from tests.unit.scheduler.helpers import node, pod

Obj = dict[str, Any]


class FakeStore:
    """update_batch as bus.store.Store does it, with Conflicts on demand."""

    def __init__(self) -> None:
        self.writes: list[Obj] = []
        self.conflicts: set[str] = set()

    async def update_batch(self, resource: str, pairs: list[tuple[Obj, Obj]]) -> list[Obj | JetkubeError]:
        out: list[Obj | JetkubeError] = []
        for new, _old in pairs:
            name = new["metadata"]["name"]
            if name in self.conflicts:
                self.conflicts.discard(name)
                out.append(Conflict(f"pods {name!r}: conflict"))
                continue
            self.writes.append(copy.deepcopy(new))
            out.append(new)
        return out


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    async def record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        self.events.append((obj["metadata"]["name"], type_, reason, message))


def with_rv(obj: Obj, rv: int) -> Obj:
    obj = copy.deepcopy(obj)
    obj["metadata"]["resourceVersion"] = str(rv)
    return obj


async def make(nodes: list[Obj], pods: list[Obj]) -> tuple[SchedulerActor, FakeStore, FakeRecorder, Informer]:
    pod_inf = Informer(FakeListWatcher(), "pods")
    node_inf = Informer(FakeListWatcher(), "nodes")
    store, recorder = FakeStore(), FakeRecorder()
    actor = SchedulerActor(store, pods=pod_inf, nodes=node_inf, recorder=recorder, move_interval=0.01)
    node_inf.replace([with_rv(n, i + 1) for i, n in enumerate(nodes)], 100)
    pod_inf.replace([with_rv(p, 200 + i) for i, p in enumerate(pods)], 300)
    return actor, store, recorder, pod_inf


async def drain(actor: SchedulerActor) -> None:
    await eventually(lambda: not actor._tasks, what="background tasks done")


async def test_binds_and_assumes() -> None:
    actor, store, _, _ = await make([node("a")], [pod("p1", cpu="1"), pod("p2", cpu="1")])
    await actor.schedule_batch(actor.queue.pop_batch(10))
    await drain(actor)
    assert sorted(w["metadata"]["name"] for w in store.writes) == ["p1", "p2"]
    assert all(w["spec"]["nodeName"] == "a" for w in store.writes)
    assert actor.cache.is_assumed("default/p1") and actor.stats["bound"] == 2


async def test_conflict_forgets_and_requeues() -> None:
    actor, store, _, _ = await make([node("a")], [pod("p1", cpu="1")])
    store.conflicts.add("p1")
    await actor.schedule_batch(actor.queue.pop_batch(10))
    await drain(actor)
    assert "default/p1" not in actor.cache.pods and actor.stats["conflicts"] == 1
    await eventually(lambda: "default/p1" in actor.queue, what="requeued after the conflict")
    await actor.schedule_batch(actor.queue.pop_batch(10))
    await drain(actor)
    assert [w["metadata"]["name"] for w in store.writes] == ["p1"]


async def test_unschedulable_reported_once_and_retried_on_node_add() -> None:
    actor, store, recorder, pod_inf = await make([node("a", cpu="1")], [pod("big", cpu="2")])
    recorded = asyncio.ensure_future(actor._record_events())
    try:
        await actor.schedule_batch(actor.queue.pop_batch(10))
        await drain(actor)
        message = "0/1 nodes are available: 1 Insufficient cpu."
        assert len(store.writes) == 1
        cond = store.writes[0]["status"]["conditions"][0]
        assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", message)
        await eventually(lambda: recorder.events == [("big", "Warning", "FailedScheduling", message)])
        # our own status write comes back through the informer: no retry for it
        pod_inf.apply(Event("MODIFIED", with_rv(store.writes[0], 400), 400))
        assert "default/big" not in actor.queue and "default/big" in actor.queue.unschedulable
        # a second failure with the same message writes nothing and records nothing new
        actor.queue.add("default/big")
        await actor.schedule_batch(actor.queue.pop_batch(10))
        await drain(actor)
        assert len(store.writes) == 1 and len(recorder.events) == 1
        # a node that fits arrives: the pod moves back and binds there
        actor._node_changed(with_rv(node("b", cpu="4"), 500))
        await asyncio.wait_for(actor.queue.wait(), 1)
        await actor.schedule_batch(actor.queue.pop_batch(10))
        await drain(actor)
        assert store.writes[-1]["spec"]["nodeName"] == "b"
        await eventually(lambda: recorder.events[-1][2] == "Scheduled")
        assert recorder.events[-1][3] == "Successfully assigned default/big to b"
    finally:
        recorded.cancel()


async def test_informer_confirms_and_releases() -> None:
    actor, _, _, pod_inf = await make([node("a", pods="1")], [pod("p1")])
    await actor.schedule_batch(actor.queue.pop_batch(10))
    await drain(actor)
    bound = with_rv(pod("p1", node_name="a"), 400)
    pod_inf.apply(Event("MODIFIED", bound, 400))
    assert not actor.cache.is_assumed("default/p1") and "default/p1" in actor.cache.pods
    pod_inf.apply(Event("DELETED", bound, 401))
    assert "default/p1" not in actor.cache.pods


async def test_heartbeat_does_not_wake_unschedulable_pods() -> None:
    actor, _, _, _ = await make([node("a", cpu="1")], [pod("big", cpu="2")])
    await actor.schedule_batch(actor.queue.pop_batch(10))
    await drain(actor)
    beat = node("a", cpu="1")
    beat["status"]["conditions"][0]["lastHeartbeatTime"] = "2030-01-01T00:00:00Z"
    actor._node_changed(with_rv(beat, 600))
    assert not actor.queue._move_requested


class LeasedStore(FakeStore):
    """A FakeStore that also answers ``get`` of leases from a MemoryLeases (as the KV holds them)."""

    def __init__(self, leases: Any) -> None:
        super().__init__()
        self.leases = leases

    async def get(self, resource: str, namespace: str | None, name: str) -> Obj:
        from schemas.errors import NotFound

        if resource != "leases" or name not in self.leases.objects:
            raise NotFound(f"{resource} {name!r} not found")
        return copy.deepcopy(self.leases.objects[name])


async def fenced(frozen_for: float = 0.0, taken: bool = False) -> tuple[SchedulerActor, LeasedStore]:
    """An actor whose fence is bound to an elector holding the scheduler's lease; ``frozen_for``:
    seconds its clock moves on without a renewal; ``taken``: another holder took the lease."""
    from actors.runtime.leader import LeaderElector
    from tests.unit.runtime.fakes import LeaseView, MemoryLeases

    leases = MemoryLeases()
    now = [100.0]
    elector = LeaderElector(LeaseView(leases), "kube-scheduler", "me", 6, 4, 1, clock=lambda: now[0])
    assert await elector._attempt()
    elector._leading = True
    if taken:
        later = [100.0]
        other = LeaderElector(LeaseView(leases), "kube-scheduler", "other", 6, 4, 1, clock=lambda: later[0])
        assert not await other._attempt()  # held: it starts the lease's expiry clock
        later[0] += 7
        assert await other._attempt()  # by its clock the lease has expired: a takeover, epoch 1
    now[0] += frozen_for
    actor, _, _, _ = await make([node("a", cpu="1")], [pod("p1"), pod("big", cpu="2")])
    store = LeasedStore(leases)
    actor.store = store
    actor.fence.bind(elector)
    return actor, store


async def test_binds_and_statuses_go_out_while_the_lease_is_ours() -> None:
    actor, store = await fenced()
    await actor.schedule_batch(actor.queue.pop_batch(10))
    await drain(actor)
    assert sorted(w["metadata"]["name"] for w in store.writes) == ["big", "p1"]
    assert actor.stats["fenced"] == 0


async def test_a_leader_frozen_past_its_renew_deadline_writes_nothing() -> None:
    actor, store = await fenced(frozen_for=4.5)
    await actor.schedule_batch(actor.queue.pop_batch(10))
    await drain(actor)
    assert store.writes == []
    assert actor.stats["fenced"] == 2 and actor.stats["bound"] == 0  # the bind and the status
    assert "default/p1" not in actor.cache.pods  # the assumption is forgotten


async def test_a_leader_whose_lease_was_taken_over_writes_nothing() -> None:
    actor, store = await fenced(taken=True)  # its own clock says the lease is still surely its
    await actor.schedule_batch(actor.queue.pop_batch(10))
    await drain(actor)
    assert store.writes == [] and actor.stats["fenced"] == 2
    await eventually(lambda: "default/p1" in actor.queue, timeout=5, what="requeued for a leader")
