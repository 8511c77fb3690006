"""The controller shape: informers -> enqueue -> wait for sync -> workers -> reconcile(key)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from actors.runtime.controller import Controller, owner_key, run_controller
from actors.runtime.leader import LeaderElector
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor
from tests.unit.runtime.fakes import FakeListWatcher, LeaseView, MemoryLeases, eventually, pod


def owned_pod(name: str, rs: str) -> dict[str, Any]:
    p = pod(name)
    p["metadata"]["ownerReferences"] = [
        {"kind": "ReplicaSet", "name": rs, "uid": f"uid-{rs}", "controller": True}
    ]
    return p


class ReplicaSetLike(Controller):
    """Reconciles ReplicaSets; pods map to their owner's key."""

    name = "replicaset"

    def __init__(self, informers: SharedInformers) -> None:
        super().__init__(workers=2)
        self.sets = self.watch(informers.informer("replicasets"))
        self.pods = self.watch(informers.informer("pods"), lambda p: owner_key(p, "ReplicaSet"))
        self.reconciled: list[tuple[str, int]] = []

    async def reconcile(self, key: str) -> None:
        # level-triggered: read the current state from the caches, never the event
        owned = [p for p in self.pods.list() if owner_key(p, "ReplicaSet") == key]
        self.reconciled.append((key, len(owned)))


class Store:
    """Two fake resources behind one ListWatcher-shaped object."""

    def __init__(self) -> None:
        self.by_resource = {"replicasets": FakeListWatcher(), "pods": FakeListWatcher()}

    async def list(self, resource: str, *args: Any, **kw: Any) -> dict[str, Any]:
        return await self.by_resource[resource].list(resource, *args, **kw)

    def watch(self, resource: str, *args: Any, **kw: Any) -> Any:
        return self.by_resource[resource].watch(resource, *args, **kw)


async def test_controller_reconciles_owner_keys_after_sync() -> None:
    store = Store()
    store.by_resource["replicasets"].create(pod("web"))
    store.by_resource["pods"].create(owned_pod("web-1", "web"))
    sup = Supervisor()
    informers = SharedInformers(store)
    ctrl = ReplicaSetLike(informers)
    informers.start(sup)
    sup.spawn(f"controller:{ctrl.name}", lambda: run_controller(ctrl, sync_timeout=2))
    await eventually(lambda: ("default/web", 1) in ctrl.reconciled, what="first reconcile")
    store.by_resource["pods"].create(owned_pod("web-2", "web"))
    await eventually(lambda: ctrl.reconciled[-1] == ("default/web", 2), what="pod add maps to owner")
    p = copy.deepcopy(store.by_resource["pods"].objects["default/web-1"])
    store.by_resource["pods"].delete("default/web-1")
    await eventually(lambda: ctrl.reconciled[-1] == ("default/web", 1), what="pod delete maps to owner")
    assert owner_key(p, "Deployment") is None
    await sup.stop()


async def test_controller_works_only_while_leading() -> None:
    store = Store()
    store.by_resource["replicasets"].create(pod("web"))
    sup = Supervisor()
    informers = SharedInformers(store)
    leases = MemoryLeases()
    holder = LeaderElector(LeaseView(leases), "replicaset", "other", 5.0, 3.0, 0.05)
    holder_done = asyncio.Event()
    sup.spawn("other", lambda: holder.run(holder_done.wait))
    await eventually(lambda: holder.is_leader)
    ctrl = ReplicaSetLike(informers)
    informers.start(sup)
    me = LeaderElector(LeaseView(leases), "replicaset", "me", 5.0, 3.0, 0.05)
    sup.spawn("controller", lambda: run_controller(ctrl, elector=me))
    await informers.wait_synced(1)
    # the positive control: the key is queued and "me" has tried the lease three times, held by other
    await eventually(lambda: len(ctrl.queue) == 1 and me.attempts >= 3 and me.leader == "other")
    assert ctrl.reconciled == [] and len(ctrl.queue) == 1  # standby: keys wait in the queue
    holder_done.set()  # the other replica finishes and releases the lease
    await eventually(lambda: ctrl.reconciled == [("default/web", 0)], what="reconcile once leading")
    await sup.stop()
