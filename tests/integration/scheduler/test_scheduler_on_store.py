"""The scheduler actor against a real nats-server (fixtures from tests/conftest.py).

Nodes and pods are written straight into the store, as the api actor would; the scheduler runs under
leader election with its own informers, as ``run_scheduler`` runs it in the control plane."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.runtime.listwatch import StoreListWatcher
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor, guarded_task
from actors.scheduler.actor import run_scheduler
from bus.connection import Bus
from bus.events import ensure_stream, list_events
from bus.store import Store
from tests.unit.scheduler.helpers import node, pod

IMPOSSIBLE = "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu."


async def until(fn: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll an async ``fn`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await fn()
        if got:
            return got
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def scheduler(bus: Bus, store: Store) -> AsyncIterator[SharedInformers]:
    async with running_scheduler(bus, store) as informers:
        yield informers


@contextlib.asynccontextmanager
async def running_scheduler(bus: Bus, store: Store) -> AsyncIterator[SharedInformers]:
    await ensure_stream(bus)
    sup = Supervisor("test")
    informers = SharedInformers(StoreListWatcher(store))
    task = guarded_task(
        "test:scheduler",
        run_scheduler(
            bus,
            store,
            identity="test-scheduler",
            informers=informers,
            supervisor=sup,
            lease_duration=3,
            renew_deadline=2,
            retry_period=0.5,
            move_interval=0.1,
        ),
    )
    try:
        yield informers
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sup.stop()


async def pods_by_name(store: Store) -> dict[str, dict[str, Any]]:
    items, _ = await store.list("pods")
    return {p["metadata"]["name"]: p for p in items}


def scheduled_condition(p: dict[str, Any]) -> dict[str, Any] | None:
    for cond in (p.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "PodScheduled":
            return cond
    return None


async def test_binds_filters_reports_and_retries(bus: Bus, store: Store, scheduler: SharedInformers) -> None:
    await store.create("nodes", node("node-a", cpu="2", labels={"disk": "ssd"}))
    await store.create("nodes", node("node-b", cpu="2"))
    await store.create("nodes", node("cordoned", cpu="8", unschedulable=True))
    names = [f"web-{i}" for i in range(8)]
    for name in names:
        await store.create("pods", pod(name, cpu="100m", owner="rs-web"))
    await store.create("pods", pod("ssd-only", cpu="100m", nodeSelector={"disk": "ssd"}))
    await store.create("pods", pod("huge", cpu="4"))

    async def all_but_huge_bound() -> dict[str, Any] | None:
        got = await pods_by_name(store)
        ok = all((got[n].get("spec") or {}).get("nodeName") for n in [*names, "ssd-only"])
        return got if ok else None

    got = await until(all_but_huge_bound, what="the schedulable pods bound")
    placed = {n: got[n]["spec"]["nodeName"] for n in [*names, "ssd-only"]}
    assert "cordoned" not in placed.values()
    assert placed["ssd-only"] == "node-a"
    web = [placed[n] for n in names]
    assert web.count("node-a") in (3, 4, 5) and web.count("node-b") in (3, 4, 5)  # spread by owner
    cond = scheduled_condition(got["web-0"])
    assert cond is not None and cond["status"] == "True"

    async def huge_unschedulable() -> dict[str, Any] | None:
        c = scheduled_condition((await pods_by_name(store))["huge"])
        return c if c and c.get("status") == "False" else None

    cond = await until(huge_unschedulable, what="huge marked Unschedulable")
    assert cond["reason"] == "Unschedulable" and cond["message"] == IMPOSSIBLE
    assert not (await pods_by_name(store))["huge"]["spec"].get("nodeName")

    async def failed_scheduling() -> list[dict[str, Any]]:
        events = await list_events(bus, "default", kind="Pod", name="huge")
        return [e for e in events if e["reason"] == "FailedScheduling"]

    events = await until(failed_scheduling, what="the FailedScheduling event")
    assert events[0]["type"] == "Warning" and events[0]["message"] == IMPOSSIBLE

    await store.create("nodes", node("big", cpu="16"))

    async def huge_bound() -> str | None:
        return (await pods_by_name(store))["huge"]["spec"].get("nodeName")

    assert await until(huge_bound, what="huge bound once a fitting node appears") == "big"
    cond = scheduled_condition((await pods_by_name(store))["huge"])
    assert cond is not None and cond["status"] == "True"


async def test_deleting_a_pod_frees_its_node(bus: Bus, store: Store, scheduler: SharedInformers) -> None:
    await store.create("nodes", node("tiny", pods="1"))
    await store.create("pods", pod("first"))

    async def bound(name: str) -> str | None:
        p = (await pods_by_name(store)).get(name)
        return (p or {}).get("spec", {}).get("nodeName")

    assert await until(lambda: bound("first")) == "tiny"
    await store.create("pods", pod("second"))

    async def second_unschedulable() -> bool:
        c = scheduled_condition((await pods_by_name(store))["second"])
        return bool(c and c.get("message") == "0/1 nodes are available: 1 Too many pods.")

    await until(second_unschedulable, what="second unschedulable")
    await store.delete("pods", "default", "first")
    assert await until(lambda: bound("second")) == "tiny"


async def test_other_schedulers_pods_are_left_alone(store: Store, scheduler: SharedInformers) -> None:
    await store.create("nodes", node("a"))
    await store.create("pods", pod("theirs", schedulerName="my-scheduler"))
    await store.create("pods", pod("mine"))

    async def mine_bound() -> bool:
        return bool((await pods_by_name(store))["mine"]["spec"].get("nodeName"))

    await until(mine_bound)  # the queue is FIFO: "theirs" was seen (and skipped) before "mine"
    assert not (await pods_by_name(store))["theirs"]["spec"].get("nodeName")


async def test_pods_pending_before_the_scheduler_starts_are_scheduled(bus: Bus, store: Store) -> None:
    await store.create("nodes", node("a", cpu="2"))
    await store.create("nodes", node("b", cpu="2"))
    waiting = [f"early-{i}" for i in range(6)]
    for name in waiting:
        await store.create("pods", pod(name, cpu="100m"))
    await store.create("pods", pod("theirs", schedulerName="my-scheduler"))
    await store.create("pods", pod("placed", node_name="b"))
    deleting = await store.create("pods", pod("deleting"))
    deleting["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    await store.update("pods", deleting)

    async with running_scheduler(bus, store) as informers:
        assert informers.informer("pods").stream_list  # the compact pods informer

        async def all_bound() -> dict[str, Any] | None:
            got = await pods_by_name(store)
            return got if all(got[n]["spec"].get("nodeName") for n in waiting) else None

        got = await until(all_bound, what="the pods that were waiting bound")
        assert {got[n]["spec"]["nodeName"] for n in waiting} <= {"a", "b"}
        # The positive control: a pod created now is bound, so the scheduler has worked through
        # its FIFO queue past "theirs" and "deleting": they stay as they are.
        await store.create("pods", pod("late", cpu="100m"))

        async def late_bound() -> dict[str, Any] | None:
            got = await pods_by_name(store)
            return got if got["late"]["spec"].get("nodeName") else None

        got = await until(late_bound, what="a pod created after them bound")
        assert not got["theirs"]["spec"].get("nodeName") and not got["deleting"]["spec"].get("nodeName")
        assert got["placed"]["spec"]["nodeName"] == "b"
        assert scheduled_condition(got["theirs"]) is None and scheduled_condition(got["deleting"]) is None


def with_labels(
    p: dict[str, Any], labels: dict[str, str], affinity: dict[str, Any] | None = None
) -> dict[str, Any]:
    p["metadata"]["labels"] = labels
    if affinity:
        p["spec"]["affinity"] = affinity
    return p


def pod_term(kind: str, labels: dict[str, str]) -> dict[str, Any]:
    terms = [{"labelSelector": {"matchLabels": labels}, "topologyKey": "kubernetes.io/hostname"}]
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": terms}}


async def test_pod_anti_affinity_spreads_replicas_and_pod_affinity_waits_for_its_pod(
    bus: Bus, store: Store, scheduler: SharedInformers
) -> None:
    for name in ("n1", "n2"):
        await store.create("nodes", node(name, labels={"kubernetes.io/hostname": name}))
    web = {"app": "web"}
    for i in range(3):
        await store.create("pods", with_labels(pod(f"web-{i}"), web, pod_term("podAntiAffinity", web)))
    # wants to be on the node of a cache pod, of which there is none yet
    await store.create(
        "pods", with_labels(pod("sidecar"), {"app": "side"}, pod_term("podAffinity", {"app": "cache"}))
    )

    async def settled() -> dict[str, Any] | None:
        got = await pods_by_name(store)
        bound = [n for n in ("web-0", "web-1", "web-2") if got[n]["spec"].get("nodeName")]
        waiting = [
            n
            for n in ("web-0", "web-1", "web-2", "sidecar")
            if (scheduled_condition(got[n]) or {}).get("status") == "False"
        ]
        return got if len(bound) == 2 and len(waiting) == 2 else None

    got = await until(settled, what="two replicas bound, one replica and the sidecar unschedulable")
    nodes = sorted(
        got[n]["spec"]["nodeName"] for n in ("web-0", "web-1", "web-2") if got[n]["spec"].get("nodeName")
    )
    assert nodes == ["n1", "n2"]
    left = next(n for n in ("web-0", "web-1", "web-2") if not got[n]["spec"].get("nodeName"))
    assert scheduled_condition(got[left])["message"] == (
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."
    )
    assert scheduled_condition(got["sidecar"])["message"] == (
        "0/2 nodes are available: 2 node(s) didn't match pod affinity rules."
    )

    await store.create(
        "pods", with_labels(pod("cache", nodeSelector={"kubernetes.io/hostname": "n2"}), {"app": "cache"})
    )

    async def sidecar_bound() -> str | None:
        return (await pods_by_name(store))["sidecar"]["spec"].get("nodeName")

    assert await until(sidecar_bound, what="the sidecar bound once its cache pod is placed") == "n2"


async def test_topology_spread_balances_one_batch_over_the_nodes(
    bus: Bus, store: Store, scheduler: SharedInformers
) -> None:
    # n1 is much the emptiest: scoring alone (least allocated) would put every pod there
    for name, cpu, memory in (("n1", "64", "256Gi"), ("n2", "2", "4Gi"), ("n3", "2", "4Gi")):
        await store.create(
            "nodes", node(name, cpu=cpu, memory=memory, labels={"kubernetes.io/hostname": name})
        )
    constraint = {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "api"}},
    }
    names = [f"api-{i}" for i in range(6)]
    for name in names:  # created at once: decided in one batch, each seeing the ones assumed before it
        await store.create(
            "pods", with_labels(pod(name, topologySpreadConstraints=[constraint]), {"app": "api"})
        )

    async def all_bound() -> dict[str, Any] | None:
        got = await pods_by_name(store)
        return got if all(got[n]["spec"].get("nodeName") for n in names) else None

    got = await until(all_bound, what="six pods spread over three nodes")
    placed = [got[n]["spec"]["nodeName"] for n in names]
    assert sorted(placed.count(n) for n in ("n1", "n2", "n3")) == [2, 2, 2]
