"""The informer and leader election on the real Store (a nats-server per test, from tests/conftest.py)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from actors.runtime.cache import key_of
from actors.runtime.informer import Informer
from actors.runtime.leader import LeaderElector, StoreLeaseBackend
from actors.runtime.listwatch import StoreListWatcher
from actors.runtime.supervisor import Supervisor
from bus.store import Store
from tests.unit.runtime.fakes import eventually


def configmap(name: str, namespace: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "web"}},
        "data": dict(data),
    }


class Recorder:
    def __init__(self, informer: Informer) -> None:
        self.seen: list[tuple[str, str]] = []
        informer.add_handler(
            on_add=lambda o: self.seen.append(("add", key_of(o))),
            on_update=lambda old, new: self.seen.append(("update", key_of(new))),
            on_delete=lambda o: self.seen.append(("delete", key_of(o))),
        )


async def test_informer_follows_the_store(store: Store) -> None:
    await store.create("configmaps", configmap("a", v="1"))
    await store.create("configmaps", configmap("b", v="1"))
    informer = Informer(StoreListWatcher(store), "configmaps", backoff_base=0.05)
    rec = Recorder(informer)
    sup = Supervisor()
    sup.spawn(informer.name, informer.run)
    try:
        await informer.wait_synced(timeout=10)
        assert sorted(rec.seen) == [("add", "default/a"), ("add", "default/b")]
        a = copy.deepcopy(informer.get("default/a"))
        a["data"]["v"] = "2"
        updated = await store.update("configmaps", a)
        await store.create("configmaps", configmap("c"))
        await store.delete("configmaps", "default", "b")
        await eventually(lambda: len(rec.seen) == 5, timeout=10, what="three changes")
        assert rec.seen[2:] == [("update", "default/a"), ("add", "default/c"), ("delete", "default/b")]
        assert informer.get("default/a")["data"]["v"] == "2"
        rv = updated["metadata"]["resourceVersion"]
        assert informer.get("default/a")["metadata"]["resourceVersion"] == rv
        assert sorted(informer.keys()) == ["default/a", "default/c"]
    finally:
        await sup.stop()


async def test_relist_reports_changes_made_while_not_watching(store: Store) -> None:
    await store.create("configmaps", configmap("keep"))
    await store.create("configmaps", configmap("gone"))
    informer = Informer(StoreListWatcher(store), "configmaps", backoff_base=0.05)
    rec = Recorder(informer)
    sup = Supervisor()
    sup.spawn("first-run", informer.run)
    await informer.wait_synced(timeout=10)
    await sup.stop()  # the informer is down: a partition, a restart ...
    keep = copy.deepcopy(informer.get("default/keep"))
    keep["data"] = {"changed": "yes"}
    await store.update("configmaps", keep)
    await store.delete("configmaps", "default", "gone")
    await store.create("configmaps", configmap("new"))
    rec.seen.clear()
    sup = Supervisor()
    sup.spawn("second-run", informer.run)  # same cache: the re-list diffs against it
    try:
        await eventually(lambda: informer.lists == 2, timeout=10, what="re-list")
        assert sorted(rec.seen) == [
            ("add", "default/new"),
            ("delete", "default/gone"),
            ("update", "default/keep"),
        ]
    finally:
        await sup.stop()


async def test_informer_misses_nothing_under_concurrent_writers(store: Store) -> None:
    informer = Informer(StoreListWatcher(store), "configmaps", namespace="default")
    sup = Supervisor()

    async def writer(prefix: str) -> None:
        for i in range(30):
            obj = await store.create("configmaps", configmap(f"{prefix}-{i}"))
            if i % 3 == 0:
                obj = copy.deepcopy(obj)
                obj["data"] = {"n": str(i)}
                await store.update("configmaps", obj)
            if i % 5 == 0:
                await store.delete("configmaps", "default", f"{prefix}-{i}")

    writers = [sup.spawn(f"writer-{p}", lambda p=p: writer(p), restart=False) for p in "xyz"]
    sup.spawn(informer.name, informer.run)
    try:
        await informer.wait_synced(timeout=10)
        await eventually(lambda: all(not w.running for w in writers), timeout=30, what="writers done")
        items, revision = await store.list("configmaps", namespace="default")
        expected = {key_of(o): o["metadata"]["resourceVersion"] for o in items}
        await eventually(lambda: informer.revision >= revision, timeout=10, what="informer caught up")
        got = {k: informer.get(k)["metadata"]["resourceVersion"] for k in informer.keys()}
        assert got == expected
    finally:
        await sup.stop()


async def test_leader_election_on_the_store(store: Store) -> None:
    leading: set[str] = set()
    overlap: list[set[str]] = []

    def elector(identity: str) -> LeaderElector:
        return LeaderElector(StoreLeaseBackend(store), "scheduler", identity, 5.0, 3.0, 0.05)

    def work(identity: str):
        async def run() -> None:
            leading.add(identity)
            if len(leading) > 1:
                overlap.append(set(leading))
            try:
                await asyncio.Event().wait()
            finally:
                leading.discard(identity)

        return run

    sup_a, sup_b = Supervisor(), Supervisor()
    a, b = elector("a"), elector("b")
    sup_a.spawn("elector", lambda: a.run(work("a")))
    await eventually(lambda: leading == {"a"}, timeout=10, what="a leads")
    sup_b.spawn("elector", lambda: b.run(work("b")))
    # the positive control: b has read the lease three times and seen it held by a
    await eventually(lambda: b.attempts >= 3 and b.leader == "a", timeout=10, what="b's attempts")
    assert leading == {"a"}
    lease = await store.get("leases", "kube-system", "scheduler")
    assert lease["spec"]["holderIdentity"] == "a"
    await sup_a.stop()  # graceful: releases the lease
    await eventually(lambda: leading == {"b"}, timeout=2, what="b takes over well before the 5 s lease")
    lease = await store.get("leases", "kube-system", "scheduler")
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1
    await sup_b.stop()
    assert overlap == []
