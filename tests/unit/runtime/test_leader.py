"""Leader election: two electors on an in-memory compare-and-set lease store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.runtime.leader import LeaderElector, StoreLeaseBackend
from actors.runtime.supervisor import guarded_task
from schemas.errors import BadRequest, NotFound
from tests.unit.runtime.fakes import LeaseView, MemoryLeases, eventually

FAST = {"lease_duration": 0.6, "renew_deadline": 0.4, "retry_period": 0.05}


class Cluster:
    """Electors sharing one lease store; tracks who leads and that leaders never overlap."""

    def __init__(self, **timing: float) -> None:
        self.leases = MemoryLeases()
        self.timing = {**FAST, **timing}
        self.leading: set[str] = set()
        self.max_concurrent = 0
        self.history: list[tuple[str, str]] = []
        self.views: dict[str, LeaseView] = {}
        self.tasks: dict[str, asyncio.Task[Any]] = {}
        self.electors: dict[str, LeaderElector] = {}

    def start(self, identity: str) -> LeaderElector:
        view = self.views[identity] = LeaseView(self.leases)
        elector = self.electors[identity] = LeaderElector(view, "scheduler", identity, **self.timing)

        async def work() -> None:
            self.leading.add(identity)
            self.max_concurrent = max(self.max_concurrent, len(self.leading))
            self.history.append(("started", identity))
            try:
                await asyncio.Event().wait()
            finally:
                self.leading.discard(identity)

        def stopped() -> None:
            self.history.append(("stopped", identity))

        self.tasks[identity] = guarded_task(f"elector-{identity}", elector.run(work, stopped))
        return elector

    @property
    def lease(self) -> dict[str, Any]:
        return self.leases.objects["scheduler"]

    async def stop(self, identity: str) -> None:
        task = self.tasks[identity]
        task.cancel()
        await asyncio.wait({task}, timeout=2)
        assert task.done()

    async def stop_all(self) -> None:
        for identity in list(self.tasks):
            await self.stop(identity)


@pytest.fixture
async def cluster():
    c = Cluster()
    yield c
    await c.stop_all()


async def test_exactly_one_of_two_leads(cluster: Cluster) -> None:
    a, b = cluster.start("a"), cluster.start("b")
    await eventually(lambda: len(cluster.leading) == 1, what="a leader")
    leader = next(iter(cluster.leading))
    # across several renewals the leadership stays put and never doubles
    renew_time = cluster.lease["spec"]["renewTime"]
    await eventually(lambda: cluster.lease["spec"]["renewTime"] != renew_time, what="a renewal")
    # longer than a lease, and several attempts of the standby to take it (the positive control):
    # it must not take it
    standby = "b" if leader == "a" else "a"
    loop = asyncio.get_running_loop()
    since, tries = loop.time(), cluster.electors[standby].attempts
    await eventually(
        lambda: (
            loop.time() - since > FAST["lease_duration"] * 1.5
            and cluster.electors[standby].attempts >= tries + 3
        ),
        what="a lease's time and three attempts of the standby",
    )
    assert cluster.leading == {leader}
    assert cluster.max_concurrent == 1
    assert [a.is_leader, b.is_leader].count(True) == 1
    spec = cluster.lease["spec"]
    assert spec["holderIdentity"] == leader and spec["leaseTransitions"] == 0
    assert cluster.lease["kind"] == "Lease" and cluster.lease["apiVersion"] == "coordination.k8s.io/v1"
    assert cluster.electors[standby].leader == leader


async def test_takeover_after_the_leader_stops_renewing(cluster: Cluster) -> None:
    cluster.start("a")
    await eventually(lambda: cluster.leading == {"a"}, what="a leads")
    cluster.start("b")
    await eventually(lambda: cluster.electors["b"].leader == "a", what="b sees a's lease")
    loop = asyncio.get_running_loop()
    cut = loop.time()
    cluster.views["a"].down = True  # a can no longer reach the store
    await eventually(lambda: ("stopped", "a") in cluster.history, timeout=2, what="a steps down")
    a_stopped = loop.time() - cut
    assert a_stopped <= FAST["renew_deadline"] + 0.5  # slack for a loaded machine
    await eventually(lambda: cluster.leading == {"b"}, timeout=3, what="b takes over")
    b_started = loop.time() - cut
    assert b_started >= FAST["lease_duration"] * 0.8  # waited for expiry, by its own clock
    assert cluster.max_concurrent == 1
    assert cluster.history.index(("stopped", "a")) < cluster.history.index(("started", "b"))
    assert cluster.lease["spec"]["holderIdentity"] == "b"
    assert cluster.lease["spec"]["leaseTransitions"] == 1
    # a comes back and stays a candidate
    cluster.views["a"].down = False
    tries = cluster.electors["a"].attempts
    await eventually(
        lambda: cluster.electors["a"].attempts >= tries + 3 and cluster.electors["a"].leader == "b",
        what="a reaches the lease again, three times, and sees b's",
    )
    assert cluster.leading == {"b"} and not cluster.electors["a"].is_leader


async def test_release_on_stop_lets_the_standby_take_over_at_once() -> None:
    cluster = Cluster(lease_duration=5.0, renew_deadline=3.0, retry_period=0.05)
    try:
        cluster.start("a")
        await eventually(lambda: cluster.leading == {"a"}, what="a leads")
        cluster.start("b")
        await eventually(lambda: cluster.electors["b"].leader == "a", what="b sees a's lease")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await cluster.stop("a")
        assert cluster.lease["spec"]["holderIdentity"] in ("", "b")
        await eventually(lambda: cluster.leading == {"b"}, timeout=2, what="b takes over")
        assert loop.time() - t0 < 1.0  # far less than the 5 s lease
        assert ("stopped", "a") in cluster.history
        assert cluster.max_concurrent == 1
    finally:
        await cluster.stop_all()


async def test_work_that_returns_releases_and_ends_run() -> None:
    leases = MemoryLeases()
    elector = LeaderElector(LeaseView(leases), "once", "a", **FAST)
    done: list[str] = []

    async def work() -> None:
        done.append("work")

    async def stopped() -> None:
        done.append("stopped")

    await asyncio.wait_for(elector.run(work, stopped), 2)
    assert done == ["work", "stopped"]
    assert leases.objects["once"]["spec"]["holderIdentity"] == ""


async def test_work_that_crashes_releases_and_raises() -> None:
    leases = MemoryLeases()
    elector = LeaderElector(LeaseView(leases), "crash", "a", **FAST)

    async def work() -> None:
        raise RuntimeError("leader work failed")

    with pytest.raises(RuntimeError, match="leader work failed"):
        await asyncio.wait_for(elector.run(work), 2)
    assert leases.objects["crash"]["spec"]["holderIdentity"] == ""
    assert not elector.is_leader


def test_timings_must_be_ordered() -> None:
    with pytest.raises(BadRequest):
        LeaderElector(LeaseView(MemoryLeases()), "x", "a", lease_duration=5, renew_deadline=10)


async def test_store_lease_backend_maps_store_calls() -> None:
    class FakeStore:
        def __init__(self) -> None:
            self.calls: list[tuple[Any, ...]] = []
            self.obj: dict[str, Any] | None = None

        async def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
            self.calls.append(("get", resource, namespace, name))
            if self.obj is None:
                raise NotFound(f'leases "{name}" not found')
            return self.obj

        async def create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
            self.calls.append(("create", resource, obj["metadata"]["namespace"]))
            self.obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": "1"}}
            return self.obj

        async def update(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
            self.calls.append(("update", resource))
            self.obj = obj
            return obj

    store = FakeStore()
    backend = StoreLeaseBackend(store)
    assert await backend.get("scheduler") is None
    created = await backend.create({"metadata": {"name": "scheduler"}, "spec": {}})
    assert created["metadata"]["namespace"] == "kube-system"
    await backend.update(created)
    assert store.calls == [
        ("get", "leases", "kube-system", "scheduler"),
        ("create", "leases", "kube-system"),
        ("update", "leases"),
    ]
