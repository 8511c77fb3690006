"""Two schedulers on one real nats-server: a leader that lost its lease binds nothing.

Scheduler A leads with a long retry period, so that it goes on believing it leads for seconds after
the lease is taken from it (as a leader frozen by SIGSTOP past its lease believes when it wakes up:
its caches and its work are as they were). The test hands the lease to scheduler B's identity (a
takeover, as B would make once A's lease expired); pods created then are seen by A, which tries to
bind them on its stale view: every such bind must be refused (LeaseLost) and nothing written. B then
leads and binds them. A watch from before the takeover records every write of every pod: each is
bound exactly once and never moved to another node.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.runtime.leader import LeaderElector, StoreLeaseBackend
from actors.runtime.listwatch import StoreListWatcher
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor, guarded_task
from actors.scheduler.actor import LEASE_NAME, SchedulerActor
from bus.codec import decode
from bus.connection import Bus
from bus.groupcommit import enable_atomic_batches
from bus.store import Store
from schemas.errors import Conflict
from tests.unit.scheduler.helpers import node, pod
from tests.waiting import wait_for


@contextlib.asynccontextmanager
async def scheduler(
    store: Store, identity: str, *, retry_period: float
) -> AsyncIterator[tuple[SchedulerActor, LeaderElector]]:
    """A SchedulerActor under its own elector and informers, wired as the control plane wires it."""
    sup = Supervisor(f"test-{identity}")
    informers = SharedInformers(StoreListWatcher(store))
    actor = SchedulerActor(store, pods=informers.informer("pods"), nodes=informers.informer("nodes"))
    informers.start(sup)
    elector = LeaderElector(
        StoreLeaseBackend(store),
        LEASE_NAME,
        identity,
        lease_duration=retry_period * 3,
        renew_deadline=retry_period * 2,
        retry_period=retry_period,
    )
    actor.fence.bind(elector)
    sup.spawn(f"lease.{identity}", lambda: elector.run(actor.run))
    try:
        yield actor, elector
    finally:
        await sup.stop()


async def hand_lease_to(store: Store, holder: str) -> dict[str, Any]:
    """Rewrite the scheduler's lease for ``holder`` with a new epoch (CAS, retried on renewals)."""
    for _ in range(50):
        lease = await store.get("leases", "kube-system", LEASE_NAME)
        new = copy.deepcopy(lease)
        new["spec"].update(
            holderIdentity=holder, leaseTransitions=int(lease["spec"].get("leaseTransitions") or 0) + 1
        )
        try:
            return await store.update("leases", new)
        except Conflict:
            continue
    raise AssertionError("the lease kept changing under 50 compare-and-set attempts")


@pytest.mark.parametrize("atomic", [False, True], ids=["check-then-write", "atomic"])
async def test_a_scheduler_that_lost_its_lease_binds_nothing_and_no_pod_is_bound_twice(
    bus: Bus, store: Store, atomic: bool
) -> None:
    if atomic:  # JETKUBE_ATOMIC_FENCE=1: binds in atomic batches with the lease's check
        store.atomic_fences = await enable_atomic_batches(bus.js, store.stream)
    await store.create("nodes", node("node-a"))
    await store.create("nodes", node("node-b"))
    history: dict[str, list[str]] = {}  # pod -> nodeName of each write that had one
    start = await store.revision()

    async def record() -> None:
        async for event in store.watch("pods", from_revision=start + 1):
            if event.type in ("ADDED", "MODIFIED"):
                name = event.object["metadata"]["name"]
                bound = (event.object.get("spec") or {}).get("nodeName")
                if bound:
                    history.setdefault(name, []).append(bound)

    recorder = guarded_task("test:history", record())
    try:
        # A leads for long: it renews only every 8 s, so it will not notice the takeover soon
        async with scheduler(store, "scheduler-a", retry_period=8) as (a, elector_a):
            await wait_for(lambda: _true(elector_a.is_leader), 30, "scheduler A leading")
            await store.create("pods", pod("before"))
            await wait_for(lambda: _bound(store, "before"), 30, "A binding a pod while it leads")

            await hand_lease_to(store, "scheduler-b")  # B's takeover, while A still thinks it leads
            names = [f"after-{i}" for i in range(4)]
            for name in names:
                await store.create("pods", pod(name))
            await wait_for(lambda: _true(a.stats["fenced"] >= len(names)), 30, "A's binds refused")
            assert elector_a.is_leader  # A still believes it leads: the refusal came from the fence
            for name in names:
                assert not await _bound(store, name), f"{name} was bound by a scheduler without the lease"

            async with scheduler(store, "scheduler-b", retry_period=0.3) as (b, _elector_b):
                for name in names:
                    await wait_for(lambda n=name: _bound(store, n), 30, f"B binding {name}")
                assert b.stats["bound"] >= len(names)
        await store.create("pods", pod("sentinel", node_name="node-a"))
        await wait_for(lambda: _true("sentinel" in history), 30, "the watch catching up")
    finally:
        recorder.cancel()
        await asyncio.gather(recorder, return_exceptions=True)
    assert a.stats["bound"] == 1  # "before" only
    if atomic:  # the binds went with their check: its message is the lease's last fenced write
        check = await bus.js.get_msg(
            store.stream, subject=f"{store.prefix}fencechecks.kube-system.{LEASE_NAME}"
        )
        assert decode(check.data)["key"] == f"leases.kube-system.{LEASE_NAME}"
    for name in ["before", *names]:
        nodes = history.get(name) or []
        assert nodes and len(set(nodes)) == 1, f"{name} bound to {nodes} over time"


async def _true(value: bool) -> bool:
    return value


async def _bound(store: Store, name: str) -> str | None:
    got = await store.get("pods", "default", name)
    return (got.get("spec") or {}).get("nodeName")
