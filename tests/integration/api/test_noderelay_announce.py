"""A restarted api re-announces every bound pod on its node's subject, once it serves.

A kubelet learns of pod changes only from the relay; a change its previous relay had not sent
when that process stopped reaches the kubelet through this announce (kubelets drop repeats by
resourceVersion). The first list fills the relay's index without sending: it answers first."""

from __future__ import annotations

from actors.api.actor import ApiActor
from actors.runtime.supervisor import Supervisor
from bus.client import NODEPODS_PREFIX, ApiClient
from bus.codec import decode
from bus.connection import Bus
from bus.store import Store
from tests.waiting import wait_for


def bound_pod(name: str, node: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
    }


async def test_a_new_relay_announces_the_bound_pods_then_follows_changes(bus: Bus, store: Store) -> None:
    for i in range(3):
        await store.create("pods", bound_pod(f"p{i}", "n1"))
    await store.create("pods", bound_pod("elsewhere", "n2"))
    got: list[tuple[str, str, str]] = []

    async def on_msg(msg) -> None:  # type: ignore[no-untyped-def]
        data = decode(msg.data)
        meta = data["object"]["metadata"]
        got.append((data["type"], meta["name"], meta["resourceVersion"]))

    sub = await bus.nc.subscribe(f"{NODEPODS_PREFIX}.n1", cb=on_msg)
    sup = Supervisor()
    actor = ApiActor(bus, store)
    actor.start(sup)
    try:
        await actor.ready()

        async def announced() -> bool:
            return len(got) >= 3

        await wait_for(announced, what="the announce of n1's pods")
        stored = [await store.get("pods", "default", f"p{i}") for i in range(3)]
        expected = [("ADDED", p["metadata"]["name"], p["metadata"]["resourceVersion"]) for p in stored]
        assert sorted(got) == sorted(expected)
        listing = await ApiClient(bus).pods_on_node("n1")
        assert sorted(p["metadata"]["name"] for p in listing["items"]) == ["p0", "p1", "p2"]
        got.clear()
        await store.create("pods", bound_pod("p3", "n1"))

        async def followed() -> bool:
            return [g[:2] for g in got] == [("ADDED", "p3")]

        await wait_for(followed, what="a pod bound after the announce")
        # The positive control: one more pod, relayed after anything p3 could have set off. When
        # it arrives, nothing came between: the announce is not repeated.
        await store.create("pods", bound_pod("p4", "n1"))

        async def followed_again() -> bool:
            return any(g[1] == "p4" for g in got)

        await wait_for(followed_again, what="the next pod bound")
        assert [g[:2] for g in got] == [("ADDED", "p3"), ("ADDED", "p4")]
    finally:
        await sup.stop()
        await sub.unsubscribe()
