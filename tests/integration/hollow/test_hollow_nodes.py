"""Hollow nodes against a real nats-server and the api actor (no scheduler: pods are created
already bound with ``spec.nodeName``, which is what the relay routes on)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from actors.hollow.fleet import HollowFleet, HollowSettings
from actors.runtime.supervisor import Supervisor
from bus.client import ApiClient
from bus.connection import Bus
from schemas.errors import NotFound

pytestmark = pytest.mark.asyncio


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def pod(name: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox:1.36"}]},
    }


async def start_fleet(bus: Bus, **kw: Any) -> tuple[HollowFleet, Supervisor]:
    settings = HollowSettings(**{"count": 3, "heartbeat_interval": 0.3, **kw})
    sup = Supervisor("test-hollow")
    fleet = HollowFleet(bus, settings)
    fleet.start(sup)
    await fleet.ready(timeout=30)
    return fleet, sup


@pytest.fixture
async def fleet(bus: Bus, control_plane: object) -> AsyncIterator[HollowFleet]:
    fleet, sup = await start_fleet(bus)
    try:
        yield fleet
    finally:
        await sup.stop()


async def test_nodes_register_and_heartbeat(fleet: HollowFleet, api: ApiClient) -> None:
    nodes = (await api.list("nodes", label_selector="type=hollow"))["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["hollow-0", "hollow-1", "hollow-2"]
    node = nodes[0]
    assert node["status"]["capacity"] == {"cpu": "4", "memory": "16Gi", "pods": "110"}
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == node["metadata"]["name"]
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True"
    # the heartbeat is the node's Lease, renewed every interval; the Node is not rewritten meanwhile
    name = node["metadata"]["name"]
    lease = await api.get("leases", name, "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == name
    renewals = {lease["spec"]["renewTime"]}

    async def renewed_twice() -> bool:
        renewals.add((await api.get("leases", name, "kube-node-lease"))["spec"]["renewTime"])
        return len(renewals) >= 3

    await until(renewed_twice)
    assert (await api.get("nodes", name))["metadata"]["resourceVersion"] == node["metadata"][
        "resourceVersion"
    ]
    assert fleet.counters["heartbeat_errors"] == 0 and fleet.counters["status_writes"] == 0


async def test_pods_run_with_conditions_ip_and_container_statuses(fleet: HollowFleet, api: ApiClient) -> None:
    await api.create("pods", pod("web", "hollow-1"))

    async def running() -> dict[str, Any] | None:
        current = await api.get("pods", "web", "default")
        return current if current["status"].get("phase") == "Running" else None

    current = await until(running)
    status = current["status"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "True",
        "Ready": "True",
    }
    assert status["podIP"].startswith("10.64.1.")
    assert status["hostIP"] == "172.16.0.1"
    [cs] = status["containerStatuses"]
    assert cs["name"] == "app" and cs["ready"] is True and "running" in cs["state"]


async def test_delete_on_request(fleet: HollowFleet, api: ApiClient) -> None:
    await api.create("pods", pod("doomed", "hollow-0"))

    async def phase() -> str | None:
        return (await api.get("pods", "doomed", "default"))["status"].get("phase") == "Running" or None

    await until(phase)
    marked = await api.delete("pods", "doomed", "default")
    assert marked["metadata"].get("deletionTimestamp")  # graceful: the node finishes it

    async def gone() -> bool:
        try:
            await api.get("pods", "doomed", "default")
        except NotFound:
            return True
        return False

    await until(gone)
    assert fleet.counters["deleted"] == 1


async def test_receive_only_their_own_pods(fleet: HollowFleet, api: ApiClient) -> None:
    for name, node in (("a1", "hollow-0"), ("a2", "hollow-0"), ("b1", "hollow-1")):
        await api.create("pods", pod(name, node))

    async def all_running() -> bool:
        items = (await api.list("pods"))["items"]
        return len(items) == 3 and all(p["status"].get("phase") == "Running" for p in items)

    await until(all_running)
    await until(lambda: _settled(fleet))
    by_node = {n.name: n for n in fleet.nodes.values()}
    assert set(by_node["hollow-0"].pods) == {"default/a1", "default/a2"}
    assert set(by_node["hollow-1"].pods) == {"default/b1"}
    assert by_node["hollow-2"].pods == {} and by_node["hollow-2"].received == 0
    fan = {name: (received, pods) for name, received, pods in fleet.fanout()}
    assert fan["hollow-0"][1] == 2 and fan["hollow-1"][1] == 1
    # each node hears of its own pods only (bound, then Running): a few messages per pod
    assert 2 <= fan["hollow-0"][0] <= 3 * 2 and 1 <= fan["hollow-1"][0] <= 3 * 1
    assert fleet.foreign == 0


async def _settled(fleet: HollowFleet) -> bool:
    pods = [p for n in fleet.nodes.values() for p in n.pods.values()]
    return all((p.get("status") or {}).get("phase") == "Running" for p in pods)


async def test_failure_rate_one_fails_every_pod(bus: Bus, control_plane: object, api: ApiClient) -> None:
    fleet, sup = await start_fleet(bus, count=1, failure_rate=1.0, prefix="failing-")
    try:
        for i in range(3):  # the container exits 1 at once; restartPolicy Never makes the pod Failed
            p = pod(f"f{i}", "failing-0")
            p["spec"]["restartPolicy"] = "Never"
            await api.create("pods", p)

        async def all_failed() -> list[dict[str, Any]] | None:
            items = (await api.list("pods"))["items"]
            ok = len(items) == 3 and all(p["status"].get("phase") == "Failed" for p in items)
            return items if ok else None

        items = await until(all_failed)
        for p in items:
            [cs] = p["status"]["containerStatuses"]
            assert cs["state"]["terminated"]["exitCode"] == 1
        # The counter moves once each status write has returned, which may be after it is visible.
        await until(lambda: _true_when(fleet.counters["failed"] == 3))
    finally:
        await sup.stop()


async def test_per_node_subscriptions_route_the_same(bus: Bus, control_plane: object, api: ApiClient) -> None:
    fleet, sup = await start_fleet(bus, count=2, per_node_subscriptions=True, prefix="sub-")
    try:
        await api.create("pods", pod("s1", "sub-1"))

        async def running() -> bool:
            return (await api.get("pods", "s1", "default"))["status"].get("phase") == "Running"

        await until(running)
        fan = {name: (received, pods) for name, received, pods in fleet.fanout()}
        assert fan["sub-0"] == (0, 0) and fan["sub-1"][1] == 1
    finally:
        await sup.stop()


async def test_relay_fed_by_the_shared_pods_informer(bus: Bus, store: Any) -> None:
    """The node relay reads the process's shared pods informer (one copy of the pods per control
    plane); hollow nodes see the same stream."""
    from actors.api.actor import ApiActor
    from actors.runtime.listwatch import StoreListWatcher
    from actors.runtime.shared import SharedInformers

    sup = Supervisor("test-relay")
    informers = SharedInformers(StoreListWatcher(store))
    actor = ApiActor(bus, store, informers=informers)
    assert actor.relay.source is not None and actor.pods is informers.informer("pods")
    actor.start(sup)
    informers.start(sup)
    await actor.ready()
    await informers.wait_synced(timeout=10)
    api = ApiClient(bus)
    fleet, fleet_sup = await start_fleet(bus, count=2, prefix="inf-")
    try:
        await api.create("pods", pod("i1", "inf-1"))

        async def running() -> bool:
            return (await api.get("pods", "i1", "default"))["status"].get("phase") == "Running"

        await until(running)
        assert [p["metadata"]["name"] for p in (await api.pods_on_node("inf-1"))["items"]] == ["i1"]
        assert (await api.pods_on_node("inf-0"))["items"] == []
        fan = {name: (received, pods) for name, received, pods in fleet.fanout()}
        assert fan["inf-0"] == (0, 0) and fan["inf-1"][1] == 1
        await api.delete("pods", "i1", "default")

        async def gone() -> bool:
            return (await api.pods_on_node("inf-1"))["items"] == []

        await until(gone)
    finally:
        await fleet_sup.stop()
        await sup.stop()


async def _true_when(condition: bool) -> bool | None:
    return True if condition else None
