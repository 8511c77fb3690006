"""Benchmarks on hollow nodes: created-and-bound end to end, pod startup at a churn, watch fan-out,
and a Deployment rolling to a new image.

Each runs against its own :class:`bench.topology.Topology` (nats-server, ``jetkube controlplane``
and a hollow fleet, three processes) and drives it through the api client, as the CLI does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from bench.common import percentile
from bench.topology import Topology

CREATE_CLIENTS = 32
CONNECTIONS = 4


def bench_pod(name: str, image: str = "busybox:1.36", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels or {"app": "bench"}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ]
        },
    }


async def _clients(url: str, n: int = CONNECTIONS) -> tuple[list[Any], list[Any]]:
    from bus.client import ApiClient
    from bus.connection import Bus

    buses = [await Bus.connect(url, name=f"bench-{i}") for i in range(n)]
    return buses, [ApiClient(b) for b in buses]


# ------------------------------------------------------------------ created and bound


async def _created_and_bound(url: str, pods: int) -> dict[str, Any]:
    buses, apis = await _clients(url)
    prefix = uuid.uuid4().hex[:6]
    bound: set[str] = set()
    done = asyncio.Event()
    per_client = pods // CREATE_CLIENTS
    total = per_client * CREATE_CLIENTS

    async def on_msg(msg: Any) -> None:
        # the scheduler's bind is the only update of a pod in this run (pod starts are deferred)
        if (msg.headers or {}).get("Jetkube-Op") == "update":
            bound.add(msg.subject)
            if len(bound) >= total:
                done.set()

    sub = await buses[0].nc.subscribe("$KV.jetkube.pods.>", cb=on_msg)
    await buses[0].nc.flush()
    latencies: list[float] = []

    async def client(c: int) -> None:
        api = apis[c % len(apis)]
        for i in range(per_client):
            t = time.perf_counter()
            await api.create("pods", bench_pod(f"e{prefix}-{c}-{i}"))
            latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(CREATE_CLIENTS)))
    created = time.perf_counter() - t0
    if len(bound) < total:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - t0
    await sub.unsubscribe()
    for b in buses:
        await b.close()
    return {
        "pods": total,
        "bound": len(bound),
        "created_per_s": total / created,
        "create_p99_ms": percentile(latencies, 99) * 1000,
        "created_and_bound_per_s": len(bound) / elapsed,
        "seconds": elapsed,
    }


def created_and_bound(nodes: int, pods: int) -> dict[str, Any]:
    """Api creates from 32 clients + the scheduler binding them to hollow nodes; pod starts are
    deferred (startup delay 1 h) so the figure is create+bind, as kube-scheduler's perf tests count."""
    with Topology() as topo:
        topo.start_controlplane()
        topo.start_hollow(nodes, startup_delay=3600)
        return asyncio.run(_created_and_bound(topo.url, pods))


# ------------------------------------------------------------------ startup at churn


async def _startup(url: str, pods: int, rate: float) -> dict[str, Any]:
    from bus.client import ApiClient

    buses, apis = await _clients(url)
    watch_api = ApiClient(buses[0])
    prefix = uuid.uuid4().hex[:6]
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = asyncio.Event()
    watching = asyncio.Event()

    async def watcher() -> None:
        async with contextlib.aclosing(watch_api.watch("pods", "default")) as events:
            async for ev in events:
                if ev.type == "BOOKMARK":
                    watching.set()
                    continue
                name = ev.object["metadata"]["name"]
                phase = (ev.object.get("status") or {}).get("phase")
                if name in sent and name not in seen and phase == "Running":
                    seen[name] = time.perf_counter()
                    if len(seen) >= pods:
                        done.set()

    from actors.runtime.supervisor import guarded_task

    wtask = guarded_task("bench.startup-watch", watcher())
    await watching.wait()
    errors = 0
    t0 = time.perf_counter()

    async def create(i: int) -> None:
        nonlocal errors
        name = f"s{prefix}-{i}"
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[name] = time.perf_counter()
        try:
            await apis[i % len(apis)].create("pods", bench_pod(name))
        except Exception:
            errors += 1
            sent.pop(name, None)

    await asyncio.gather(*(create(i) for i in range(pods)))
    offered = pods / (time.perf_counter() - t0)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 120)
    wtask.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await wtask
    lat = [seen[n] - sent[n] for n in seen]
    for b in buses:
        await b.close()
    return {
        "pods": pods,
        "running": len(seen),
        "errors": errors,
        "offered_per_s": offered,
        "p50_ms": percentile(lat, 50) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
        "max_ms": max(lat) * 1000 if lat else float("nan"),
    }


async def _rollout(url: str, replicas: int) -> dict[str, Any]:
    buses, apis = await _clients(url, 1)
    api = apis[0]
    labels = {"app": "rollout"}
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "rollout", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": bench_pod("x", "web:v1")["spec"]},
        },
    }

    async def rolled(image: str, timeout: float = 600.0) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            d = await api.get("deployments", "rollout", "default")
            st = d.get("status") or {}
            if (
                st.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
                and st.get("updatedReplicas") == replicas
                and st.get("availableReplicas") == replicas
                and st.get("replicas") == replicas
            ):
                pods = (await api.list("pods", "default", label_selector="app=rollout"))["items"]
                live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
                if len(pods) == replicas and all(
                    p["spec"]["containers"][0]["image"] == image and p["status"].get("phase") == "Running"
                    for p in live
                ):
                    return time.perf_counter() - t0
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the Deployment did not reach {image} within {timeout} s")

    await api.create("deployments", deploy)
    first = await rolled("web:v1")
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:v2"}]}}}}
    await api.patch("deployments", "rollout", patch, "strategic", "default")
    roll = await rolled("web:v2")
    for b in buses:
        await b.close()
    return {"replicas": replicas, "initial_s": first, "rollout_s": roll}


def startup_fanout_rollout(
    nodes: int, pods: int, rate: float, replicas: int, only: set[str] | None = None
) -> dict[str, Any]:
    """Startup at a churn, then the fan-out those pods caused, then a Deployment rollout; one
    topology (hollow nodes start pods at once)."""
    out: dict[str, Any] = {}
    with Topology() as topo:
        topo.start_controlplane()
        topo.start_hollow(nodes, startup_delay=0.0)
        if only is None or "startup" in only or "fanout" in only:
            out["startup"] = asyncio.run(_startup(topo.url, pods, rate))
            out["fanout"] = topo.hollow_stats()
        if only is None or "rollout" in only:
            out["rollout"] = asyncio.run(_rollout(topo.url, replicas))
    return out
