"""Time a pod's Docker work: the docker CLI vs DockerRuntime (not a test; prints figures).

    python tests/e2e/kubelet/bench_runtime.py [-n 20]

Per pod, both sides do the same engine work: create+start the infra container (pause), then
create+start a busybox ``sleep`` joined to its network namespace. The CLI side is two
``docker run -d`` calls; the runtime side is create_sandbox + create_container + start (which
also reads the sandbox's IP and writes the termination-message file). Containers are removed
after each side; the rounds interleave so both see the same engine load.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

import structlog  # noqa: E402

from actors.kubelet.runtime import DockerRuntime  # noqa: E402

LABEL = "io.jetkube.bench"


def cli_pod(run: str, i: int) -> float:
    t0 = time.perf_counter()
    infra = subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--label",
            f"{LABEL}={run}",
            "--name",
            f"jkbench-{run}-{i}-pod",
            "--ipc",
            "shareable",
            "jetkube/pause:latest",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--label",
            f"{LABEL}={run}",
            "--name",
            f"jkbench-{run}-{i}-app",
            "--network",
            f"container:{infra}",
            "--ipc",
            f"container:{infra}",
            "gcr.io/google_containers/busybox",
            "sleep",
            "3600",
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


async def runtime_pod(rt: DockerRuntime, node: str, i: int) -> float:
    uid = str(uuid.uuid4())
    pod = {"metadata": {"name": f"p{i}", "namespace": "bench", "uid": uid}, "spec": {"nodeName": node}}
    container = {"name": "app", "image": "gcr.io/google_containers/busybox", "command": ["sleep", "3600"]}
    t0 = time.perf_counter()
    sb = await rt.create_sandbox(f"bench/p{i}", uid, node, f"p{i}")
    cid = await rt.create_container(sb, pod, container, attempt=0)
    await rt.start(cid)
    return time.perf_counter() - t0


def cleanup_cli(run: str) -> None:
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={LABEL}={run}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=True)


async def main(n: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    from images.build import ensure_images

    ensure_images(["busybox", "pause"])
    run = uuid.uuid4().hex[:8]
    node = f"bench-{run}"
    cli: list[float] = []
    ours: list[float] = []
    with tempfile.TemporaryDirectory() as state:
        rt = await DockerRuntime.connect(state_dir=state)
        try:
            for i in range(n):
                cli.append(await asyncio.to_thread(cli_pod, run, i))
                ours.append(await runtime_pod(rt, node, i))
        finally:
            for c in await rt.list(node):
                await rt.remove(c.id)
            await rt.close()
            cleanup_cli(run)

    def fmt(xs: list[float]) -> str:
        q = statistics.quantiles(xs, n=20)
        return f"p50 {statistics.median(xs) * 1000:6.0f} ms   p95 {q[-1] * 1000:6.0f} ms   (n={len(xs)})"

    sys.stdout.write(f"docker CLI (2x docker run -d)     {fmt(cli)}\n")
    sys.stdout.write(f"DockerRuntime (sandbox + app)     {fmt(ours)}\n")
    sys.stdout.write(f"ratio of p50s: {statistics.median(ours) / statistics.median(cli):.2f}\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    asyncio.run(main(ap.parse_args().n))
