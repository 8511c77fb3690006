"""A node lost and found again, the scenario the node-stop and the partition tests share.

An RC (3 replicas) and a DaemonSet run across the three nodes. ``lose`` takes one node away (the
tests stop its container, or disconnect it from the compose network); with the bed's settings
the node turns NotReady 10 s after its last heartbeat and its pods are evicted 15 s later. Then:
the RC's pods are recreated on the two other nodes (three alive, none on the lost node) and the
DaemonSet's pods are not (still one on each other node, none added). ``heal`` brings the node
back: it turns Ready, the containers of the pods it lost are removed from the engine, and once
converged no RC has more pods than replicas, neither in the api nor running on the engine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bus.client import ApiClient
from cli.testbed import NODES, Testbed
from tests.testbed.helpers import (
    Obj,
    bed_api,
    engine_containers,
    hold,
    nodes_by_name,
    pods,
    poll,
    ready_nodes,
    running,
    wait_bed_whole,
)

REPLICAS = 3
RC_LABELS = {"app": "survivor"}
DS_LABELS = {"app": "everywhere"}


def pod_template(labels: dict[str, str]) -> Obj:
    return {
        "metadata": {"labels": labels},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}],
        },
    }


def workloads() -> list[tuple[str, Obj]]:
    return [
        (
            "replicationcontrollers",
            {
                "apiVersion": "v1",
                "kind": "ReplicationController",
                "metadata": {"name": "survivor"},
                "spec": {"replicas": REPLICAS, "selector": RC_LABELS, "template": pod_template(RC_LABELS)},
            },
        ),
        (
            "daemonsets",
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": {"name": "everywhere"},
                "spec": {"selector": {"matchLabels": DS_LABELS}, "template": pod_template(DS_LABELS)},
            },
        ),
    ]


@dataclass
class Timings:
    marks: dict[str, float] = field(default_factory=dict)
    t0: float = field(default_factory=time.monotonic)

    def mark(self, what: str) -> None:
        self.marks[what] = time.monotonic() - self.t0

    def line(self) -> str:
        return ", ".join(f"{k} {v:.1f}s" for k, v in self.marks.items())


def by_node(items: list[Obj]) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {}
    for p in items:
        out.setdefault(p["spec"].get("nodeName") or "", []).append(p)
    return out


def running_rc_pods_on_engine(namespace: str) -> set[str]:
    """Uids of the RC's pods that have a running app container anywhere on the engine."""
    return {
        c["uid"]
        for node in NODES.values()
        for c in engine_containers(node)
        if c["namespace"] == namespace and c["type"] == "container" and c["pod"].startswith("survivor-")
    }


async def node_lost_and_found(
    bed: Testbed, namespace: str, service: str, lose: Callable[[], None], heal: Callable[[], None]
) -> str:
    node = NODES[service]
    others = set(NODES.values()) - {node}
    async with bed_api() as api:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        await api.create("namespaces", ns)
        for resource, obj in workloads():
            await api.create(resource, obj, namespace=namespace)

        async def settled() -> bool:
            rc = await pods(api, namespace, RC_LABELS)
            ds = by_node(await pods(api, namespace, DS_LABELS))
            return (
                len(rc) == REPLICAS
                and all(running(p) for p in rc)
                and node in {p["spec"]["nodeName"] for p in rc}
                and sorted(ds) == sorted(NODES.values())
                and all(len(v) == 1 and running(v[0]) for v in ds.values())
            )

        await poll(settled, 90, f"RC at {REPLICAS} Running (one on {node}) and one DS pod per node")
        rc_pods = await pods(api, namespace, RC_LABELS)
        lost_rc = {p["metadata"]["uid"] for p in rc_pods if p["spec"]["nodeName"] == node}
        ds_pods = by_node(await pods(api, namespace, DS_LABELS))
        ds_before = {n: v[0]["metadata"]["uid"] for n, v in ds_pods.items()}

        t = Timings()
        await asyncio.to_thread(lose)
        t.mark("lost")

        async def not_ready() -> bool:
            return node not in await ready_nodes(api)

        await poll(not_ready, 40, f"{node} NotReady")
        t.mark("NotReady")

        async def rescheduled() -> bool:
            rc = await pods(api, namespace, RC_LABELS)
            return (
                len(rc) == REPLICAS
                and all(running(p) and p["spec"]["nodeName"] in others for p in rc)
                and not lost_rc & {p["metadata"]["uid"] for p in rc}
            )

        await poll(rescheduled, 90, f"the RC's pods recreated off {node}, all Running")
        t.mark("RC rescheduled")
        ds = by_node(await pods(api, namespace, DS_LABELS))
        for other in others:
            assert [p["metadata"]["uid"] for p in ds.get(other, [])] == [ds_before[other]], (
                f"DaemonSet pods changed on {other} while {node} was lost: {ds.get(other)}"
            )

        await asyncio.to_thread(heal)
        t.mark("healed")

        async def back() -> bool:
            return node in await ready_nodes(api)

        await poll(back, 60, f"{node} Ready again")
        t.mark("Ready")

        async def stale_removed() -> bool:
            bound = {p["metadata"]["uid"] for p in (await api.list("pods", namespace=namespace))["items"]}
            on_engine = await asyncio.to_thread(engine_containers, node, running_only=False)
            return not {c["uid"] for c in on_engine} & lost_rc and all(
                c["uid"] in bound for c in on_engine if c["namespace"] == namespace
            )

        await poll(stale_removed, 60, f"the stale containers of {node}'s lost pods removed")
        t.mark("stale removed")

        async def converged() -> bool:
            rc = await pods(api, namespace, RC_LABELS)
            ds = by_node(await pods(api, namespace, DS_LABELS))
            engine = await asyncio.to_thread(running_rc_pods_on_engine, namespace)
            return (
                len(rc) == REPLICAS
                and all(running(p) for p in rc)
                and len(engine) == REPLICAS
                and sorted(ds) == sorted(NODES.values())
                and all(len(v) == 1 for v in ds.values())
            )

        await poll(converged, 60, "RC at replicas in the api and on the engine, one DS pod per node")

        async def never_over() -> bool:
            rc = await pods(api, namespace, RC_LABELS)
            engine = await asyncio.to_thread(running_rc_pods_on_engine, namespace)
            return len(rc) <= REPLICAS and len(engine) <= REPLICAS

        await hold(never_over, 5, "no more RC pods than replicas (api and engine)")
        t.mark("converged")
        await cleanup(api, namespace)
    await wait_bed_whole(bed)
    return t.line()


async def cleanup(api: ApiClient, namespace: str) -> None:
    await api.delete("namespaces", namespace)

    async def gone() -> bool:
        return namespace not in {n["metadata"]["name"] for n in (await api.list("namespaces"))["items"]}

    await poll(gone, 60, f"namespace {namespace} deleted")
    assert (await nodes_by_name(api)).keys() == set(NODES.values())
