"""``jetkube apply -f`` of a big file: objects/s against the api's own 32-client create rate.

    python -m bench.apply [--count 5000] [--server URL]
    python -m bench.apply --kubectl [--count 5000]

``--kubectl`` starts ``jetkube up`` with the Kubernetes API gateway (HTTPS) and also times
``kubectl apply -f`` of the same file over it (kubectl 1.32 at /usr/bin/kubectl, the kubeconfig
``jetkube up`` writes; client-side apply, one request at a time as kubectl sends them), each run
on an empty namespace (``delete -f`` in between).

Writes one file of ``--count`` pods (the api benchmark's small pod), runs ``jetkube apply -f`` on it
as a user would (a subprocess, wall time including reading and parsing the file), then
``jetkube delete -f --wait=false`` of it, then :func:`bench.api.api_creates` with 32 clients on the
same cluster for the reference rate. Figures go to ``bench/results/apply.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

from bench.api import api_creates, small_pod
from bench.common import cluster_process, print_table, write_results


def write_manifest(path: Path, count: int) -> None:
    prefix = uuid.uuid4().hex[:6]
    docs = [small_pod(f"apply-{prefix}-{i}") for i in range(count)]
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def timed(url: str, *args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cli.main", "--server", url, *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def kubectl_timed(kubeconfig: Path, *args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        env={"HOME": str(kubeconfig.parent), "PATH": "/usr/bin:/bin"},
    )
    return time.perf_counter() - t0


def run(url: str, count: int, kubeconfig: Path | None = None) -> dict:
    extra = {}
    with tempfile.TemporaryDirectory(prefix="jetkube-bench-apply-") as tmp:
        path = Path(tmp) / "pods.yaml"
        write_manifest(path, count)
        apply_s = timed(url, "apply", "-f", str(path))
        delete_s = timed(url, "delete", "-f", str(path), "--wait=false")
        if kubeconfig is not None:
            extra["kubectl_apply_per_s"] = count / kubectl_timed(kubeconfig, "apply", "-f", str(path))
            timed(url, "delete", "-f", str(path), "--wait=false")
    api = asyncio.run(api_creates(url, 4000, 32))
    return {
        "count": count,
        "apply_per_s": count / apply_s,
        "delete_per_s": count / delete_s,
        "api_32_per_s": api["per_s"],
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--server", default=None, help="use a running cluster instead of starting one")
    parser.add_argument("--kubectl", action="store_true", help="also kubectl apply over the HTTPS gateway")
    args = parser.parse_args()
    if args.server:
        results = run(args.server, args.count)
    elif args.kubectl:
        from bus.embedded import free_port
        from cli.localcluster import LocalCluster

        with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
            data = Path(tmp)
            with LocalCluster(data, apiserver_port=free_port(), log_level="warning") as cluster:
                results = run(cluster.url, args.count, data / "kubeconfig")
    else:
        with cluster_process() as url:
            results = run(url, args.count)
    ratio = results["apply_per_s"] / results["api_32_per_s"]
    print_table(
        [
            ("figure", "value", "target"),
            (f"apply -f of {args.count} pods, objects/s", f"{results['apply_per_s']:.0f}", "≥ 0.5× api"),
            ("  against the api's 32-client creates/s", f"{results['api_32_per_s']:.0f}", f"{ratio:.2f}×"),
            (f"delete -f of {args.count} pods, objects/s", f"{results['delete_per_s']:.0f}", ""),
        ]
        + (
            [
                (
                    f"kubectl apply -f of {args.count} pods over HTTPS, objects/s",
                    f"{results['kubectl_apply_per_s']:.0f}",
                    f"jetkube apply: {results['apply_per_s'] / results['kubectl_apply_per_s']:.1f}×",
                )
            ]
            if "kubectl_apply_per_s" in results
            else []
        )
    )
    write_results("apply", results)


if __name__ == "__main__":
    main()
