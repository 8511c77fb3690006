"""Pod startup: create -> Running (seen through a watch) for busybox pods, p50/p99, beside the docker
CLI doing the same Docker work in the same run; and the kubelet's RSS with the pods running.

    python -m bench.pod_startup [--pods 50] [--mode sequential|burst]

Setup: `jetkube up --no-kubelet` in a child process, and `jetkube kubelet` in its own process (so
its RSS is its own). Pods are bound at create (spec.nodeName), so the figure is the api, the
node relay, the kubelet and the engine, not the scheduler. imagePullPolicy IfNotPresent: pulls
are excluded, as in Kubernetes' startup SLO. The docker CLI baseline per pod is
``docker run -d <pause>`` then ``docker run -d --network container:<id> busybox sleep 3600``.
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

BUSYBOX = "gcr.io/google_containers/busybox"
PAUSE = "jetkube/pause:latest"


def pod(name: str, node: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "startup-bench"}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "c",
                    "image": BUSYBOX,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", "3600"],
                }
            ],
        },
    }


def is_running(p: dict) -> bool:
    st = p.get("status") or {}
    cs = st.get("containerStatuses") or []
    return st.get("phase") == "Running" and bool(cs) and all("running" in (c.get("state") or {}) for c in cs)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_node_ready(api, node: str, timeout: float = 60.0) -> None:
    from schemas.errors import JetkubeError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            n = await api.get("nodes", node)
            if any(
                c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions") or []
            ):
                return
        except JetkubeError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"node {node} never became Ready")


async def kubelet_run(url: str, node: str, count: int, mode: str) -> list[float]:
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(url)
    api = ApiClient(bus)
    await wait_node_ready(api, node)
    created: dict[str, float] = {}
    running_at: dict[str, float] = {}
    done = asyncio.Event()
    arrived: dict[str, asyncio.Event] = {}

    async def watcher() -> None:
        async for ev in api.watch("pods", namespace="default", label_selector="app=startup-bench"):
            if ev.type == "BOOKMARK":
                continue
            name = ev.object["metadata"]["name"]
            if name not in running_at and is_running(ev.object):
                running_at[name] = time.perf_counter()
                arrived.setdefault(name, asyncio.Event()).set()
                if len(running_at) >= count:
                    done.set()

    w = asyncio.get_running_loop().create_task(watcher(), name="bench:watch")
    await asyncio.sleep(0.5)  # the watch is open
    names = [f"bench-{i:03d}" for i in range(count)]
    if mode == "burst":
        for n in names:
            created[n] = time.perf_counter()
            await api.create("pods", pod(n, node))
    else:
        for n in names:
            created[n] = time.perf_counter()
            await api.create("pods", pod(n, node))
            await arrived.setdefault(n, asyncio.Event()).wait()
    await asyncio.wait_for(done.wait(), 300)
    w.cancel()
    await bus.close()
    return [running_at[n] - created[n] for n in names]


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


def cli_run(count: int, tag: str) -> list[float]:
    out: list[float] = []
    for _ in range(count):
        t0 = time.perf_counter()
        sb = docker("run", "-d", "--label", f"bench={tag}", PAUSE)
        docker(
            "run", "-d", "--label", f"bench={tag}", "--network", f"container:{sb}", BUSYBOX, "sleep", "3600"
        )
        out.append(time.perf_counter() - t0)
    return out


def cli_cleanup(tag: str) -> None:
    ids = docker("ps", "-aq", "--filter", f"label=bench={tag}").split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)


def kubelet_cleanup(node: str) -> None:
    ids = docker("ps", "-aq", "--filter", f"label=io.jetkube.node={node}").split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--mode", choices=["sequential", "burst"], default="sequential")
    args = ap.parse_args()
    tag = uuid.uuid4().hex[:8]
    node = f"bench-{tag}"
    results: dict = {"pods": args.pods, "mode": args.mode}
    with cluster_process() as url, tempfile.TemporaryDirectory(prefix="jetkube-kubelet-") as root:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        log = (Path(root) / "kubelet.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "kubelet",
                "--node-name",
                node,
                "--server",
                url,
                "--root-dir",
                root,
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=log,
            env=env,
        )
        try:
            kube = asyncio.run(kubelet_run(url, node, args.pods, args.mode))
            time.sleep(2)  # a resync or two with every pod running
            results["kubelet_rss_mb"] = round(rss_mb(proc.pid), 1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
            kubelet_cleanup(node)
        try:
            cli = cli_run(args.pods, tag)
        finally:
            cli_cleanup(tag)
    k50, k99 = percentile(kube, 50), percentile(kube, 99)
    c50, c99 = percentile(cli, 50), percentile(cli, 99)
    results.update(
        kubelet_p50_s=round(k50, 3),
        kubelet_p99_s=round(k99, 3),
        cli_p50_s=round(c50, 3),
        cli_p99_s=round(c99, 3),
        ratio_p50=round(k50 / c50, 2),
    )
    print(f"pod startup, {args.pods} busybox pods ({args.mode}), create -> Running through a watch")
    print_table(
        [
            ("", "p50", "p99"),
            ("jetkube (api + kubelet + engine)", f"{k50 * 1000:.0f} ms", f"{k99 * 1000:.0f} ms"),
            ("docker CLI (pause + busybox)", f"{c50 * 1000:.0f} ms", f"{c99 * 1000:.0f} ms"),
        ]
    )
    print(f"ratio p50: {k50 / c50:.2f}x the docker CLI (target <= 1.25x)")
    print(f"kubelet RSS with {args.pods} pods running: {results['kubelet_rss_mb']} MB (target <= 80 MB)")
    print(
        f"written: {write_results('pod_startup' + ('' if args.mode == 'sequential' else '_burst'), results)}"
    )


if __name__ == "__main__":
    main()
