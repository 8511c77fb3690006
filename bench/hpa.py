"""The HPA's reaction times with the production defaults: load start -> first scale-up, load stop ->
scale-down, against the configured windows.

    python -m bench.hpa [--down-window 60] [--rounds 1]

Setup: ``jetkube up --no-kubelet`` in a child process (its HPA controller syncs every 15 s and reads
the metrics history, collected every 10 s) and ``jetkube kubelet`` in its own process (samples
every 10 s, its default). A Deployment of one busybox pod (100m CPU request, 200m limit) whose
script idles until ``/tmp/go`` exists and burns CPU until ``/tmp/stop`` exists; an HPA on it: 50%
CPU, 1..3 replicas, scale-up window 0 (Kubernetes' default), scale-down window ``--down-window``.

Load start is the moment ``jetkube exec POD -- touch /tmp/go`` returns; the first scale-up is the
first time the Deployment's ``spec.replicas`` is seen above 1 (polled every 0.2 s). Only that first
pod ever burns (the pods the HPA adds never get ``/tmp/go``), so load stop is the moment ``touch
/tmp/stop`` in it returns; scale-down is ``spec.replicas`` back at 1.

What bounds them: a scale-up waits for a kubelet sample that shows the load (up to 10 s, and the
first sample of a rate is an average since the previous one), for the collector to read it (up to
10 s) and for the HPA's next sync (up to 15 s): at most about 35 s over the up window (0). A
scale-down waits for the same chain to see the idle pods, then for the down window (the highest
recommendation of the window's syncs holds).
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
from typing import Any

from bench.common import cluster_process, print_table, write_results
from bench.pod_startup import BUSYBOX, kubelet_cleanup, wait_node_ready

SCRIPT = "while [ ! -f /tmp/go ]; do sleep 0.2; done; while [ ! -f /tmp/stop ]; do :; done; exec sleep 3600"


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "hpa-bench", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "hpa-bench"}},
            "template": {
                "metadata": {"labels": {"app": "hpa-bench"}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [
                        {
                            "name": "c",
                            "image": BUSYBOX,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", SCRIPT],
                            "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}},
                        }
                    ],
                },
            },
        },
    }


def hpa(down_window: int) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "hpa-bench", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hpa-bench"},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0},
                "scaleDown": {"stabilizationWindowSeconds": down_window},
            },
        },
    }


async def cli(url: str, *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--server", url, *args,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _out, err = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"jetkube {' '.join(args)}: {err.decode().strip()}")


async def running_pods(api: Any) -> list[str]:
    pods = (await api.list("pods", "default", label_selector="app=hpa-bench"))["items"]
    return [
        p["metadata"]["name"]
        for p in pods
        if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    ]


async def until(check: Any, timeout: float, what: str) -> float:
    """Poll ``check`` every 0.2 s; the perf_counter time it first held."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if await check():
            return time.perf_counter()
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no {what} within {timeout:g}s")


async def one_round(url: str, api: Any, down_window: int) -> tuple[float, float]:
    await api.create("deployments", deployment())
    await api.create("horizontalpodautoscalers", hpa(down_window))

    async def replicas() -> int:
        return int((await api.get("deployments", "hpa-bench", "default"))["spec"]["replicas"])

    async def one_running() -> bool:
        return len(await running_pods(api)) == 1

    await until(one_running, 120, "running pod")
    await asyncio.sleep(25)  # the HPA has seen the idle pod (and holds at 1)
    pod = (await running_pods(api))[0]
    await cli(url, "exec", pod, "--", "touch", "/tmp/go")
    started = time.perf_counter()

    async def scaled_up() -> bool:
        return await replicas() > 1

    up_at = await until(scaled_up, 180, "scale-up")

    # only the first pod burns (the new ones never get /tmp/go): stopping it stops the load
    await cli(url, "exec", pod, "--", "touch", "/tmp/stop")
    stopped = time.perf_counter()

    async def scaled_down() -> bool:
        return await replicas() == 1

    down_at = await until(scaled_down, down_window + 240, "scale-down")
    await api.delete("horizontalpodautoscalers", "hpa-bench", "default")
    await api.delete("deployments", "hpa-bench", "default")
    return up_at - started, down_at - stopped


async def run(url: str, node: str, rounds: int, down_window: int) -> list[tuple[float, float]]:
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(url)
    api = ApiClient(bus)
    await wait_node_ready(api, node)
    out = []
    for _ in range(rounds):
        out.append(await one_round(url, api, down_window))
        await asyncio.sleep(5)
    await bus.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--down-window", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=1)
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
            results = asyncio.run(run(url, node, args.rounds, args.down_window))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
            kubelet_cleanup(node)
    ups = [u for u, _ in results]
    downs = [d for _, d in results]
    print(
        f"HPA, {args.rounds} round(s): kubelet samples every 10 s, history collected every 10 s, "
        f"HPA sync 15 s; up window 0 s, down window {args.down_window} s"
    )
    print_table(
        [
            ("", "seconds", "configured window"),
            ("load start -> first scale-up", ", ".join(f"{u:.1f}" for u in ups), "0 s"),
            ("load stop -> scale-down", ", ".join(f"{d:.1f}" for d in downs), f"{args.down_window} s"),
        ]
    )
    data = {"down_window_s": args.down_window, "up_s": ups, "down_s": downs}
    print(f"written: {write_results('hpa', data)}")


if __name__ == "__main__":
    main()
