"""Storage: a fresh local-path claim to Bound, and its pod's create to Running, p50/p99.

    python -m bench.storage [--pods 20]

Setup as bench.pod_startup: ``jetkube up --no-kubelet`` in a child process (its default
``local-path`` StorageClass, WaitForFirstConsumer) and ``jetkube kubelet`` in its own process.
Each round creates a claim and a busybox pod that mounts it, one round at a time, and watches
both: the claim is Bound once the scheduler has chosen the node, the provisioner has made the
volume there and the binder has bound it; the pod is Running once the kubelet has mounted the
volume (the directory is made then) and started the container. Everything is deleted after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import cluster_process, percentile, print_table, write_results
from bench.pod_startup import BUSYBOX, is_running, kubelet_cleanup, wait_node_ready


def claim(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "storage-bench"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}},
    }


def pod(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "storage-bench"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "c",
                    "image": BUSYBOX,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", "3600"],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}],
        },
    }


async def run(url: str, node: str, count: int) -> tuple[list[float], list[float]]:
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(url)
    api = ApiClient(bus)
    await wait_node_ready(api, node)
    bound_at: dict[str, float] = {}
    running_at: dict[str, float] = {}
    seen: dict[str, asyncio.Event] = {}

    def arrived(name: str) -> asyncio.Event:
        return seen.setdefault(name, asyncio.Event())

    async def claims() -> None:
        async for ev in api.watch(
            "persistentvolumeclaims", namespace="default", label_selector="app=storage-bench"
        ):
            if ev.type == "BOOKMARK":
                continue
            name = ev.object["metadata"]["name"]
            if name not in bound_at and (ev.object.get("status") or {}).get("phase") == "Bound":
                bound_at[name] = time.perf_counter()

    async def pods() -> None:
        async for ev in api.watch("pods", namespace="default", label_selector="app=storage-bench"):
            if ev.type == "BOOKMARK":
                continue
            name = ev.object["metadata"]["name"]
            if name not in running_at and is_running(ev.object):
                running_at[name] = time.perf_counter()
                arrived(name).set()

    loop = asyncio.get_running_loop()
    watchers = [loop.create_task(claims(), name="bench:claims"), loop.create_task(pods(), name="bench:pods")]
    await asyncio.sleep(0.5)  # the watches are open
    to_bound, to_running = [], []
    for i in range(count):
        name = f"data-{i:03d}"
        t0 = time.perf_counter()
        await api.create("persistentvolumeclaims", claim(name))
        await api.create("pods", pod(name))
        await asyncio.wait_for(arrived(name).wait(), 120)
        to_running.append(running_at[name] - t0)
        to_bound.append(bound_at.get(name, running_at[name]) - t0)
    for i in range(count):
        await api.delete("pods", f"data-{i:03d}", namespace="default", grace_period_seconds=0)
        await api.delete("persistentvolumeclaims", f"data-{i:03d}", namespace="default")
    for w in watchers:
        w.cancel()
    await bus.close()
    return to_bound, to_running


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=20)
    args = ap.parse_args()
    node = f"bench-{uuid.uuid4().hex[:8]}"
    with cluster_process() as url, tempfile.TemporaryDirectory(prefix="jetkube-kubelet-") as root:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        log = (Path(root) / "kubelet.log").open("wb")
        cmd = [sys.executable, "-m", "cli.main", "kubelet", "--node-name", node, "--server", url]
        proc = subprocess.Popen(
            [*cmd, "--root-dir", root, "--log-level", "warning"], stdout=log, stderr=log, env=env
        )
        try:
            bound, running = asyncio.run(run(url, node, args.pods))
            time.sleep(3)  # the helper pods remove the directories
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
            kubelet_cleanup(node)
    b50, b99 = percentile(bound, 50), percentile(bound, 99)
    r50, r99 = percentile(running, 50), percentile(running, 99)
    results = {
        "pods": args.pods,
        "claim_bound_p50_s": round(b50, 3),
        "claim_bound_p99_s": round(b99, 3),
        "pod_running_p50_s": round(r50, 3),
        "pod_running_p99_s": round(r99, 3),
    }
    print(f"storage, {args.pods} rounds of a fresh local-path claim and a busybox pod mounting it")
    print_table(
        [
            ("", "p50", "p99"),
            ("claim created -> Bound", f"{b50 * 1000:.0f} ms", f"{b99 * 1000:.0f} ms"),
            ("pod created -> Running", f"{r50 * 1000:.0f} ms", f"{r99 * 1000:.0f} ms"),
        ]
    )
    print(f"written: {write_results('storage', results)}")


if __name__ == "__main__":
    main()
