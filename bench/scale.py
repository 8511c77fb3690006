"""Scale: N hollow nodes and M pods: control-plane RSS, the time to list every pod (the CLI and the
client), and the time for a restarted control plane to re-sync.

Pods are written straight into the store (pipelined compare-and-set creates, already bound
round-robin to the hollow nodes and Running, as if their kubelets had started them; the hollow
kubelets do not sync them): this benchmark is about holding and re-reading the state, not about
creating it (the other benchmarks time that).

Re-sync is measured from the restarted ``jetkube controlplane``'s spawn until (a) the api answers,
(b) the node relay serves a node's full pod list, and (c) a new probe pod is bound by the scheduler
(whose informers must have listed every pod and node first); the figure is the last of the three.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

from bench.topology import ROOT, Topology, rss_mb

HOLD = 3600.0  # seconds between a pod's bind and its hollow kubelet's first sync: never, in a run


def _stored_pod(i: int, node: str) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    from bench.hollow import bench_pod

    pod = bench_pod(f"scale-{i:06d}", labels={"app": "scale", "shard": str(i % 100)})
    pod["metadata"].update(uid=f"00000000-0000-4000-9000-{i:012d}", creationTimestamp=now, generation=1)
    pod["spec"].update(nodeName=node, schedulerName="default-scheduler", restartPolicy="Always")
    pod["status"] = {
        "phase": "Running",
        "qosClass": "Burstable",
        "podIP": f"10.{64 + (i // 65536) % 64}.{(i // 256) % 256}.{i % 256}",
        "conditions": [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
            for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ],
        "containerStatuses": [
            {
                "name": "app",
                "ready": True,
                "restartCount": 0,
                "image": "busybox:1.36",
                "imageID": "",
                "state": {"running": {"startedAt": now}},
            }
        ],
    }
    return pod


async def _write_pods(url: str, nodes: int, pods: int) -> float:
    from bus.codec import encode
    from bus.connection import Bus
    from bus.store import EXPECTED_LAST, OP_HEADER, Store

    bus = await Bus.connect(url, name="bench-scale-writer", pending_size=64 * 1024 * 1024)
    store = await Store.open(bus)
    t0 = time.perf_counter()
    pending: list[Any] = []
    for i in range(pods):
        fut = await bus.js.publish_async(
            f"{store.prefix}pods.default.scale-{i:06d}",
            encode(_stored_pod(i, f"hollow-{i % nodes}")),
            headers={EXPECTED_LAST: "0", OP_HEADER: "create"},
        )
        pending.append(fut)
        if len(pending) >= 2000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    await bus.close()
    return time.perf_counter() - t0


async def _until_relay_has(url: str, node: str, expected: int, timeout: float = 300.0) -> float:
    from bus.client import ApiClient
    from bus.connection import Bus
    from schemas.errors import JetkubeError

    t0 = time.perf_counter()
    bus = await Bus.connect(url)
    try:
        api = ApiClient(bus, timeout=5)
        while time.perf_counter() - t0 < timeout:
            try:
                if len((await api.pods_on_node(node))["items"]) >= expected:
                    return time.perf_counter() - t0
            except JetkubeError:
                pass
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the relay did not list {expected} pods on {node} in {timeout} s")
    finally:
        await bus.close()


async def _probe_bound(url: str, name: str, timeout: float = 300.0) -> None:
    from bench.hollow import bench_pod
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(url)
    try:
        api = ApiClient(bus)
        await api.create("pods", bench_pod(name))
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if (await api.get("pods", name, "default"))["spec"].get("nodeName"):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"probe pod {name} was not bound in {timeout} s")
    finally:
        await bus.close()


async def _client_list(url: str) -> tuple[float, int, str]:
    """``ApiClient.list`` (one api reply), then the same list read from JetStream directly."""
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(url)
    try:
        t0 = time.perf_counter()
        try:
            items = (await asyncio.wait_for(ApiClient(bus).list("pods"), 60))["items"]
        except Exception as err:
            return time.perf_counter() - t0, -1, f"{type(err).__name__}: {err}"
        return time.perf_counter() - t0, len(items), ""
    finally:
        await bus.close()


async def _store_list(url: str) -> tuple[float, int]:
    from bus.connection import Bus
    from bus.store import Store

    bus = await Bus.connect(url, pending_size=64 * 1024 * 1024)
    try:
        store = await Store.open(bus)
        t0 = time.perf_counter()
        items, _rev = await store.list("pods")
        return time.perf_counter() - t0, len(items)
    finally:
        await bus.close()


def cli_list(url: str) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "cli.main", "--server", url, "get", "pods", "-A", "-o", "name"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - t0, -1, "timed out after 180 s"
    err = (
        ""
        if out.returncode == 0
        else (out.stderr.strip().splitlines() or ["exit " + str(out.returncode)])[-1]
    )
    return time.perf_counter() - t0, len(out.stdout.splitlines()), err


def scale(nodes: int, pods: int) -> dict[str, Any]:
    with Topology() as topo:
        topo.start_controlplane()
        assert topo.controlplane is not None
        # the hollow kubelets hold the pods unstarted: they are stored Running already, and since the
        # hollow nodes run the real kubelet sync (issue 17) starting 100,000 of them (a token request,
        # the volume's files, a status write each) would load the control plane all through the run
        topo.start_hollow(nodes, startup_delay=HOLD, heartbeat=10.0)
        baseline = rss_mb(topo.controlplane.pid)
        write_s = asyncio.run(_write_pods(topo.url, nodes, pods))
        per_node = pods // nodes
        caught_up = asyncio.run(_until_relay_has(topo.url, f"hollow-{nodes - 1}", per_node))
        asyncio.run(_probe_bound(topo.url, "probe-before"))
        rss = rss_mb(topo.controlplane.pid)
        client_s, client_n, client_err = asyncio.run(_client_list(topo.url))
        store_s, store_n = asyncio.run(_store_list(topo.url))
        cli_s, cli_n, cli_err = cli_list(topo.url)
        # restart the control plane (the hollow nodes keep running)
        topo.stop_controlplane()
        t0 = time.perf_counter()
        api_s = topo.start_controlplane()
        relay_s = asyncio.run(_until_relay_has(topo.url, f"hollow-{nodes - 1}", per_node)) + api_s
        asyncio.run(_probe_bound(topo.url, "probe-after"))
        bound_s = time.perf_counter() - t0
        rss_after = rss_mb(topo.controlplane.pid)
        hollow = topo.hollow_stats()
    return {
        "nodes": nodes,
        "pods": pods,
        "write_s": write_s,
        "catch_up_s": caught_up,
        "rss_mb_before_pods": baseline,
        "rss_mb": rss,
        "rss_mb_after_resync": rss_after,
        "client_list_s": client_s,
        "client_list_items": client_n,
        "client_list_error": client_err,
        "store_list_s": store_s,
        "store_list_items": store_n,
        "cli_list_s": cli_s,
        "cli_list_lines": cli_n,
        "cli_list_error": cli_err,
        "resync_api_s": api_s,
        "resync_relay_s": relay_s,
        "resync_bound_s": bound_s,
        "resync_s": max(api_s, relay_s, bound_s),
        "hollow_rss_mb": hollow.get("rss_mb"),
    }
