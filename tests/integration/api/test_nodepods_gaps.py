"""A kubelet's pod stream survives gaps: what happened while it could not hear is found and applied.

The relay's messages are plain NATS publishes: those sent while a kubelet reconnects are lost, and a
restarted api announces adds but never the deletes its predecessor did not send. The stream must
notice (a reconnect, a relay never heard, a jump in sequence numbers, a periodic re-list) and end
with the kubelet's view equal to the node's pods. A real nats-server; the kubelet's connection goes
through a TCP proxy that cuts it, as a broken network would."""

from __future__ import annotations

import contextlib
from typing import Any

from actors.api.actor import ApiActor
from actors.runtime.supervisor import Supervisor
from bus.client import ApiClient
from bus.connection import Bus
from bus.store import Store
from cli.chaos.tcpproxy import TcpProxy
from tests.waiting import wait_for


def bound_pod(name: str, node: str = "n1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
    }


class KubeletView:
    """What a kubelet following ``watch_node_pods`` believes runs on its node."""

    def __init__(self, api: ApiClient, node: str, **options: Any) -> None:
        self.api, self.node, self.options = api, node, options
        self.pods: set[str] = set()

    async def follow(self) -> None:
        snapshot: set[str] | None = set()  # as an informer does: the opening list replaces the view
        async with contextlib.aclosing(self.api.watch_node_pods(self.node, **self.options)) as events:
            async for event in events:
                name = event.object.get("metadata", {}).get("name")
                if event.type == "BOOKMARK" and snapshot is not None:
                    self.pods, snapshot = snapshot, None
                elif snapshot is not None:
                    snapshot.add(name)
                elif event.type == "DELETED":
                    self.pods.discard(name)
                elif event.type in ("ADDED", "MODIFIED"):
                    self.pods.add(name)

    async def shows(self, names: set[str], what: str) -> None:
        async def equal() -> bool:
            return self.pods == names

        await wait_for(equal, what=f"{what}: the kubelet's view {sorted(self.pods)} to be {sorted(names)}")


async def start_api(bus: Bus, store: Store) -> tuple[ApiActor, Supervisor]:
    sup = Supervisor()
    actor = ApiActor(bus, store)
    actor.start(sup)
    await actor.ready()
    return actor, sup


async def relayed(actor: ApiActor, node: str, seq: int) -> None:
    async def sent() -> bool:
        return actor.relay.seq.get(node, 0) >= seq and actor.relay._outbox.empty()

    await wait_for(sent, what=f"the relay to send message {seq} for {node}")


async def test_changes_during_a_cut_connection_reach_the_kubelet_after_it_reconnects(
    bus: Bus, store: Store, nats_server: Any
) -> None:
    actor, sup = await start_api(bus, store)
    proxy = await TcpProxy(nats_server.host, nats_server.port).start()
    kubelet_bus = await Bus.connect(proxy.url, name="kubelet-n1")
    view = KubeletView(ApiClient(kubelet_bus), "n1", resync_seconds=3600)  # only the gap may tell
    try:
        sup.spawn("kubelet-view", view.follow)
        await store.create("pods", bound_pod("p1"))
        await store.create("pods", bound_pod("p2"))
        await view.shows({"p1", "p2"}, "before the cut")

        proxy.block()

        async def disconnected() -> bool:
            return not kubelet_bus.nc.is_connected

        await wait_for(disconnected, what="the kubelet to notice the cut")
        sent = actor.relay.seq.get("n1", 0)
        await store.delete("pods", "default", "p1")  # deleted while the kubelet cannot hear
        await store.create("pods", bound_pod("p3"))  # bound while the kubelet cannot hear
        await relayed(actor, "n1", sent + 2)
        proxy.heal()

        await view.shows({"p2", "p3"}, "after the reconnect")
    finally:
        await sup.stop()
        await kubelet_bus.close()
        await proxy.stop()


async def test_a_pod_deleted_while_the_api_was_down_is_deleted_on_the_kubelet(bus: Bus, store: Store) -> None:
    _actor, sup = await start_api(bus, store)
    kubelet_bus = await Bus.connect(bus.url, name="kubelet-n1")
    view = KubeletView(ApiClient(kubelet_bus), "n1", resync_seconds=3600)
    watcher = Supervisor()
    try:
        watcher.spawn("kubelet-view", view.follow)
        await store.create("pods", bound_pod("p1"))
        await store.create("pods", bound_pod("p2"))
        await view.shows({"p1", "p2"}, "before the api stops")
        await sup.stop()
        await store.delete("pods", "default", "p1")  # no relay runs: nobody tells the kubelet
        _actor, sup = await start_api(bus, store)  # a new relay: it announces p2 only
        await view.shows({"p2"}, "after the api restarted")
    finally:
        await watcher.stop()
        await sup.stop()
        await kubelet_bus.close()


async def test_a_node_left_without_pods_while_the_api_was_down_finds_out_by_its_periodic_relist(
    bus: Bus, store: Store
) -> None:
    _actor, sup = await start_api(bus, store)
    kubelet_bus = await Bus.connect(bus.url, name="kubelet-n1")
    view = KubeletView(ApiClient(kubelet_bus), "n1", resync_seconds=1.0)
    watcher = Supervisor()
    try:
        watcher.spawn("kubelet-view", view.follow)
        await store.create("pods", bound_pod("p1"))
        await view.shows({"p1"}, "before the api stops")
        await sup.stop()
        await store.delete("pods", "default", "p1")  # the node has no pod left: nothing is announced
        _actor, sup = await start_api(bus, store)
        await view.shows(set(), "after the api restarted")
    finally:
        await watcher.stop()
        await sup.stop()
        await kubelet_bus.close()
