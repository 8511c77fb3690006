"""CephFS throughput in a pod against the same ceph-fuse mount on the node directly.

    docker-compose -p jetkube-testbed --profile ceph up -d ceph   # the bed's Ceph (compose.yaml)
    python -m bench.cephfs [--mib 256] [--rounds 3]

Setup as bench.storage: ``jetkube up --no-kubelet`` in a child process and ``jetkube kubelet`` in
its own process on this host, which mounts the pods' CephFS volumes with ceph-fuse (the kernel
here has no ceph client). Each round writes a file of ``--mib`` MiB (``dd bs=1M conv=fsync``) and
reads it back on a fresh mount (so the client's cache is cold), twice:

- **node**: busybox's ``dd`` on this host, on a ceph-fuse mount the bench makes with the options
  the kubelet uses (actors/kubelet/cephfs.py);
- **pod**: the same ``dd`` in a busybox pod whose ``cephfs`` volume the kubelet mounted; the
  write and the read are two pods (two mounts), timed inside the container (/proc/uptime, reported
  in the termination message), so pod start-up is not counted.

Prints MB/s (10^6 bytes/s), medians over the rounds, and the pod/node ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import cluster_process, print_table, write_results
from bench.pod_startup import BUSYBOX, kubelet_cleanup, wait_node_ready

MONITORS = ["10.16.154.78:6789", "10.16.154.82:6789", "10.16.154.83:6789"]
ADMIN_KEY = "AQBEFhZrR5Y0CxAAT1HC2nMPsvqJ5ExjJEFISQ=="  # compose.yaml's CEPH_ADMIN_KEY


def timed(cmd: str) -> str:
    """A shell line printing the seconds ``cmd`` took (/proc/uptime: 10 ms ticks)."""
    return (
        f"a=$(cut -d' ' -f1 /proc/uptime); {cmd} >/dev/null 2>&1; b=$(cut -d' ' -f1 /proc/uptime); echo $a $b"
    )


def write_cmd(path: str, mib: int) -> str:
    return timed(f"dd if=/dev/zero of={path} bs=1M count={mib} conv=fsync")


def read_cmd(path: str) -> str:
    return timed(f"dd if={path} of=/dev/null bs=1M")


def seconds(out: str) -> float:
    a, b = out.strip().splitlines()[-1].split()
    return max(float(b) - float(a), 0.01)


def pod(name: str, script: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "cephfs-bench"}},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "c",
                    "image": BUSYBOX,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", f"({script}) >/dev/termination-log"],
                    "volumeMounts": [{"name": "fs", "mountPath": "/mnt/cephfs"}],
                }
            ],
            "volumes": [
                {
                    "name": "fs",
                    "cephfs": {"monitors": MONITORS, "user": "admin", "secretRef": {"name": "ceph-secret"}},
                }
            ],
        },
    }


async def in_pod(api: object, name: str, script: str) -> float:
    """Run the script in a pod, return the seconds it printed; the pod is deleted after."""
    await api.create("pods", pod(name, script))  # type: ignore[attr-defined]
    deadline = time.monotonic() + 180
    while True:
        p = await api.get("pods", name, "default")  # type: ignore[attr-defined]
        phase = (p.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"pod {name} did not finish: {p.get('status')}")
        await asyncio.sleep(0.5)
    statuses = (p.get("status") or {}).get("containerStatuses") or [{}]
    out = str(((statuses[0].get("state") or {}).get("terminated") or {}).get("message") or "")
    if phase != "Succeeded":
        raise RuntimeError(f"pod {name} {phase}: {out}")
    await api.delete("pods", name, namespace="default", grace_period_seconds=0)  # type: ignore[attr-defined]
    return seconds(out)


def on_node(keyring: Path, script: str) -> float:
    """Mount with ceph-fuse as the kubelet does, run the script with busybox's sh, unmount."""
    from actors.kubelet.cephfs import mount_command, plan_mount

    with tempfile.TemporaryDirectory(prefix="jetkube-cephfs-bench-") as d:
        target = Path(d) / "m"
        target.mkdir()
        plan = plan_mount({"monitors": MONITORS, "user": "admin"}, key=ADMIN_KEY)
        subprocess.run(mount_command(plan, "fuse", target, keyring), check=True, capture_output=True)
        try:
            out = subprocess.run(
                ["busybox", "sh", "-c", script.replace("/mnt/cephfs", str(target))],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        finally:
            subprocess.run(["umount", str(target)], check=False)
    return seconds(out)


async def run(url: str, node: str, mib: int, rounds: int, keyring: Path) -> dict[str, list[float]]:
    from bus.client import ApiClient
    from bus.connection import Bus

    bus = await Bus.connect(url)
    api = ApiClient(bus)
    await wait_node_ready(api, node)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ceph-secret", "namespace": "default"},
        "data": {"key": base64.b64encode(ADMIN_KEY.encode()).decode()},
    }
    await api.create("secrets", secret)
    run_id = uuid.uuid4().hex[:6]
    out: dict[str, list[float]] = {k: [] for k in ("node_write", "node_read", "pod_write", "pod_read")}
    mb = mib * 1024 * 1024 / 1e6
    for i in range(rounds):
        f = f"/mnt/cephfs/bench-{run_id}-{i}"
        out["node_write"].append(mb / await asyncio.to_thread(on_node, keyring, write_cmd(f + "-node", mib)))
        out["node_read"].append(mb / await asyncio.to_thread(on_node, keyring, read_cmd(f + "-node")))
        out["pod_write"].append(mb / await in_pod(api, f"w-{i}", write_cmd(f + "-pod", mib)))
        out["pod_read"].append(mb / await in_pod(api, f"r-{i}", read_cmd(f + "-pod") + f"; rm -f {f}-*"))
    await bus.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from actors.kubelet.volumes import reachable

    if not asyncio.run(reachable(MONITORS[0], 6789, banner=b"ceph v")):
        sys.exit(
            f"no Ceph monitor at {MONITORS[0]}: docker-compose -p jetkube-testbed --profile ceph up -d ceph"
        )
    node = f"bench-{uuid.uuid4().hex[:8]}"
    with cluster_process() as url, tempfile.TemporaryDirectory(prefix="jetkube-kubelet-") as root:
        keyring = Path(root) / "admin.keyring"
        keyring.write_text(f"[client.admin]\n\tkey = {ADMIN_KEY}\n")
        keyring.chmod(0o600)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        log = (Path(root) / "kubelet.log").open("wb")
        cmd = [sys.executable, "-m", "cli.main", "kubelet", "--node-name", node, "--server", url]
        proc = subprocess.Popen(
            [*cmd, "--root-dir", root, "--log-level", "warning"], stdout=log, stderr=log, env=env
        )
        try:
            got = asyncio.run(run(url, node, args.mib, args.rounds, keyring))
            time.sleep(3)  # the last pod's volume is unmounted
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
            kubelet_cleanup(node)
            from actors.kubelet.mounts import unmount_all

            asyncio.run(unmount_all(Path(root)))  # never let the temporary dir's cleanup reach into CephFS
    med = {k: statistics.median(v) for k, v in got.items()}
    results = {
        "mib": args.mib,
        "rounds": args.rounds,
        **{f"{k}_MBps": round(v, 1) for k, v in med.items()},
        "write_ratio_pod_over_node": round(med["pod_write"] / med["node_write"], 3),
        "read_ratio_pod_over_node": round(med["pod_read"] / med["node_read"], 3),
        "samples_MBps": {k: [round(x, 1) for x in v] for k, v in got.items()},
    }
    print(f"cephfs, {args.rounds} rounds of a {args.mib} MiB file (ceph-fuse; medians, MB/s)")
    print_table(
        [
            ("", "write", "read"),
            ("node (ceph-fuse)", f"{med['node_write']:.0f}", f"{med['node_read']:.0f}"),
            ("pod (kubelet mount)", f"{med['pod_write']:.0f}", f"{med['pod_read']:.0f}"),
            (
                "pod / node",
                f"{results['write_ratio_pod_over_node']:.2f}",
                f"{results['read_ratio_pod_over_node']:.2f}",
            ),
        ]
    )
    print(f"written: {write_results('cephfs', results)}")


if __name__ == "__main__":
    main()
