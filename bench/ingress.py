"""HTTP requests/s to an nginx pod: straight to its IP, through the ingress proxy, through
``jetkube port-forward`` and through ``kubectl port-forward`` against the gateway (measured with
wrk; nothing is asserted).

    python -m bench.ingress [--seconds 10] [--connections 32]

Setup: ``jetkube up`` in a child process with a kubelet on the local Docker engine (a node of its
own name) and the ingress on a free port; two nginx pods behind a Service, one Ingress rule for
host ``bench.local``; ``jetkube port-forward pod/<first> :80`` as a subprocess, then kubectl's
(SPDY in WebSocket to the gateway, whose kubeconfig ``up`` writes; skipped without kubectl),
which ends in the same kubelet relay. Each figure is one
wrk run (2 threads, keep-alive connections) after a 2 s warm-up. The pods are deleted at the end
and their containers removed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import print_table, write_results
from bus.embedded import free_port
from schemas.errors import NotFound

NGINX = "nginx"


def nginx_pod(name: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "ingress-bench"}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "nginx",
                    "image": NGINX,
                    "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 80}],
                }
            ],
        },
    }


OBJECTS: list[tuple[str, dict[str, Any]]] = [
    (
        "services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "ingress-bench", "namespace": "default"},
            "spec": {"selector": {"app": "ingress-bench"}, "ports": [{"port": 80, "targetPort": 80}]},
        },
    ),
    (
        "ingresses",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "ingress-bench", "namespace": "default"},
            "spec": {
                "rules": [
                    {
                        "host": "bench.local",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "ingress-bench", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
    ),
]


def wrk(url: str, seconds: int, connections: int, host: str | None = None) -> float:
    """Requests/s that wrk reports for ``url``."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
    if host:
        cmd += ["-H", f"Host: {host}"]
    subprocess.run([*cmd[:3], "-d2s", *cmd[4:], url], capture_output=True, check=True)  # warm-up
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if found is None or non2xx is not None:
        raise SystemExit(f"wrk failed on {url}:\n{out}")
    return float(found.group(1))


async def setup(url: str, node: str) -> list[str]:
    """Create the pods, the Service and the Ingress; wait until both endpoints are ready."""
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(url)
    api = ApiClient(bus)
    try:
        deadline = time.monotonic() + 60
        while not any(n["metadata"]["name"] == node for n in (await api.list("nodes"))["items"]):
            if time.monotonic() > deadline:  # pods bound to an unknown node are collected as orphans
                raise SystemExit(f"node {node} did not register within 60 s")
            await asyncio.sleep(0.2)
        for i in (1, 2):
            await api.create("pods", nginx_pod(f"ingress-bench-{i}", node))
        for resource, obj in OBJECTS:
            await api.create(resource, obj)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                ep = await api.get("endpoints", "ingress-bench", "default")
            except NotFound:  # the endpoints controller has not made it yet
                ep = {}
            ips = [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
            if len(ips) == 2:
                return sorted(ips)
            await asyncio.sleep(0.2)
        raise SystemExit("the nginx pods did not become ready within 120 s")
    finally:
        await bus.close()


async def teardown(url: str) -> None:
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(url)
    try:
        api = ApiClient(bus)
        for i in (1, 2):
            with contextlib.suppress(NotFound):
                await api.delete("pods", f"ingress-bench-{i}", "default", grace_period_seconds=0)
    finally:
        await bus.close()


def start_port_forward(url: str, kubeconfig: Path | None = None) -> tuple[subprocess.Popen[str], int]:
    """``jetkube port-forward`` over NATS, or with ``kubeconfig`` kubectl's through the gateway."""
    if kubeconfig is None:
        cmd = [
            sys.executable,
            "-m",
            "cli.main",
            "port-forward",
            "--server",
            url,
            "pod/ingress-bench-1",
            ":80",
        ]
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
    else:
        cmd = ["kubectl", "port-forward", "pod/ingress-bench-1", ":80"]
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> 80", line)
    if not found:
        proc.kill()
        raise SystemExit(f"port-forward did not start: {line!r}")
    return proc, int(found.group(1))


@contextlib.contextmanager
def cluster_with_gateway(*extra: str) -> Iterator[tuple[str, Path]]:
    """bench.common's ``cluster_process`` with a kubelet and the gateway on a free port; yields the
    NATS URL and the kubeconfig ``up`` wrote."""
    from cli.localcluster import LocalCluster

    with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
        data = Path(tmp)
        with LocalCluster(
            data, kubelet=True, extra_args=extra, log_level="warning", apiserver_port=free_port()
        ) as cluster:
            yield cluster.url, data / "kubeconfig"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    from images.build import ensure_images

    ensure_images(["pause", "nginx"])
    node = f"bench-ingress-{uuid.uuid4().hex[:6]}"
    port = free_port()
    results: dict[str, float] = {}
    with cluster_with_gateway("--ingress-port", str(port), "--node-name", node) as (url, kubeconfig):
        try:
            ips = asyncio.run(setup(url, node))
            results["direct"] = wrk(f"http://{ips[0]}:80/", args.seconds, args.connections)
            results["ingress"] = wrk(
                f"http://127.0.0.1:{port}/", args.seconds, args.connections, "bench.local"
            )
            proc, local = start_port_forward(url)
            try:
                results["port-forward"] = wrk(f"http://127.0.0.1:{local}/", args.seconds, args.connections)
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=20)
            if shutil.which("kubectl") is not None:
                proc, local = start_port_forward(url, kubeconfig)
                try:
                    results["kubectl port-forward"] = wrk(
                        f"http://127.0.0.1:{local}/", args.seconds, args.connections
                    )
                finally:
                    proc.send_signal(signal.SIGINT)
                    proc.wait(timeout=20)
        finally:
            asyncio.run(teardown(url))
            subprocess.run(
                f"docker ps -aq --filter label=io.jetkube.node={node} | xargs -r docker rm -f",
                shell=True,
                capture_output=True,
            )
    rows = [("path", "requests/s", "")]
    for name, rps in results.items():
        rows.append(
            (name, f"{rps:,.0f}", f"{rps / results['direct']:.0%} of direct" if name != "direct" else "")
        )
    print_table(rows)
    write_results(
        "ingress", {"connections": args.connections, "seconds": args.seconds, "requests_per_s": results}
    )


if __name__ == "__main__":
    main()
