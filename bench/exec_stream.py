"""``kubectl exec`` through the gateway and the kubelet's NATS session against ``docker exec`` on
the same container: the cost of a short command, and stdin / output throughput.

    python -m bench.exec_stream [--mib 32] [--rounds 5]

Setup: ``jetkube up --kubelet`` (the gateway on a free port, the kubelet on the local Docker engine)
in a child process, and one busybox pod. Each round, alternating the two paths: ``exec -- true``
(the whole command's wall time, kubectl's start included), ``exec -i -- wc -c`` fed ``--mib`` MiB,
and ``exec -- head -c <mib MiB> /dev/zero`` read to the end. Medians over the rounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import print_table, write_results

BUSYBOX = "gcr.io/google_containers/busybox"
POD = "exec-bench"


def timed(cmd: list[str], env: dict[str, str], data: bytes | None = None) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, input=data, capture_output=True, env=env, timeout=600, check=False)
    elapsed = time.perf_counter() - t0
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])}... failed ({run.returncode}): {run.stderr.decode()[-500:]}")
    return elapsed, run.stdout


def main() -> None:
    from bus.embedded import free_port
    from cli.localcluster import LocalCluster

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
    size = args.mib * 1024 * 1024
    payload = os.urandom(size)
    with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
        data = Path(tmp)
        env = {**os.environ, "KUBECONFIG": str(data / "kubeconfig")}
        k = [kubectl]
        with LocalCluster(data, kubelet=True, apiserver_port=free_port(), log_level="warning"):
            image = [f"--image={BUSYBOX}", "--image-pull-policy=IfNotPresent"]
            timed([*k, "run", POD, *image, "--command", "--", "sleep", "3600"], env)
            timed([*k, "wait", "--for=condition=Ready", f"pod/{POD}", "--timeout=180s"], env)
            _, cid = timed(
                [*k, "get", "pod", POD, "-o", "jsonpath={.status.containerStatuses[0].containerID}"], env
            )
            container = cid.decode().split("://", 1)[-1]
            paths = {"kubectl": [*k, "exec"], "docker": ["docker", "exec"]}
            target = {"kubectl": [POD, "--"], "docker": [container]}
            samples: dict[str, list[float]] = {f"{p}_{w}": [] for p in paths for w in ("true", "in", "out")}
            try:
                for _ in range(args.rounds):
                    for p in paths:
                        samples[f"{p}_true"].append(timed([*paths[p], *target[p], "true"], env)[0])
                        inp = [*paths[p], "-i", *target[p], "wc", "-c"]
                        elapsed, out = timed(inp, env, payload)
                        assert out.strip() == str(size).encode(), out
                        samples[f"{p}_in"].append(elapsed)
                        elapsed, out = timed(
                            [*paths[p], *target[p], "head", "-c", str(size), "/dev/zero"], env
                        )
                        assert len(out) == size, len(out)
                        samples[f"{p}_out"].append(elapsed)
            finally:
                subprocess.run(
                    [*k, "delete", "pod", POD, "--grace-period=0", "--wait=true"], env=env, check=False
                )
    med = {name: statistics.median(values) for name, values in samples.items()}
    mb = size / 1e6
    rows = [("figure", "kubectl (gateway + NATS)", "docker exec")]
    rows.append(("exec -- true, median s", f"{med['kubectl_true']:.3f}", f"{med['docker_true']:.3f}"))
    rows.append(
        (
            f"exec -i wc -c, {args.mib} MiB in, MB/s",
            f"{mb / med['kubectl_in']:.1f}",
            f"{mb / med['docker_in']:.1f}",
        )
    )
    rows.append(
        (
            f"exec head -c, {args.mib} MiB out, MB/s",
            f"{mb / med['kubectl_out']:.1f}",
            f"{mb / med['docker_out']:.1f}",
        )
    )
    print_table(rows)
    results = {"mib": args.mib, "rounds": args.rounds, "samples": samples, "medians": med}
    print(f"json: {write_results('exec_stream', results)}")


if __name__ == "__main__":
    main()
