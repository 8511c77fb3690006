"""Fairness benchmark: can one viewer starve the nodes? (issue 15)

    python -m bench.fairness [--nodes 1000] [--pods 10000] [--seconds 120] [--json FILE]

One process: an authenticated nats-server, the control plane (api only), a hollow fleet whose
nodes renew their Leases through the api every 10 s (under the control plane's name; the api
classifies them into its system-nodes priority level), and a probe kubelet
(``node-probe``, its own flow) that writes its Node's status every second and times each write.
Then the user ``viewer`` runs 32 list loops over every pod and 20 slow watches (each chunk
acknowledged two seconds late) for ``--seconds``.

Figures: the probe's heartbeat latency p50/p99/max, the fleet's heartbeat errors, the nodes whose
last heartbeat is older than 40 s at the end (NotReady by the node lifecycle's grace), the
process's RSS growth, and the viewer's lists answered and refused (429). The short version
(``--nodes 100 --pods 1000 --seconds 20``) takes about a minute; ``--lists 0 --watches 0`` is the
control run, without the viewer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import percentile


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(nodes: int, pods: int, seconds: float, *, lists: int = 32, watches: int = 20) -> dict[str, Any]:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.hollow.fleet import HollowFleet, HollowSettings
    from actors.hollow.objects import heartbeat
    from actors.nodelifecycle.decide import lease_renew_time
    from actors.runtime.supervisor import Supervisor
    from bus.auth import CONTROLPLANE, VIEWER, Credentials, api_subject, authorization_block, node_user
    from bus.client import ApiClient
    from bus.codec import decode, encode
    from bus.connection import Bus
    from bus.embedded import EmbeddedNats, free_port
    from bus.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="jetkube-fairness-"))
    creds = Credentials.load_or_create(tmp / "auth.json", CONTROLPLANE, VIEWER, node_user("probe"))
    server = EmbeddedNats(
        data_dir=tmp / "nats", port=free_port(), extra_config=authorization_block(creds.users)
    )
    server.start()
    sup = Supervisor("bench-fairness")
    buses: list[Bus] = []

    async def connect(user: str) -> Bus:
        bus = await Bus.connect(server.url, user=user, password=creds.users[user], name=f"bench-{user}")
        buses.append(bus)
        return bus

    try:
        cp = await connect(CONTROLPLANE)
        store = await Store.open(cp)
        actor = start_control_plane(sup, cp, store, ControlPlaneSettings(controllers=("none",)))
        await actor.ready()
        fleet_bus = await connect(CONTROLPLANE)
        fleet = HollowFleet(
            fleet_bus,
            HollowSettings(count=nodes, heartbeat_via="api", seed=1),
            api=ApiClient(fleet_bus, timeout=30),
        )
        fleet.start(sup)
        await fleet.ready(300)
        names = sorted(fleet.nodes)
        batch = []
        for i in range(pods):
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"p{i}", "namespace": "default", "labels": {"app": "bench"}},
                "spec": {
                    "nodeName": names[i % len(names)],
                    "containers": [{"name": "c", "image": "busybox"}],
                },
            }
            batch.append(store.create("pods", pod))
            if len(batch) >= 500:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)

        probe = ApiClient(await connect(node_user("probe")), timeout=30)
        node = await probe.create(
            "nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "probe"}}
        )
        viewer = await connect(VIEWER)
        rss_before = rss_mb()
        stop = asyncio.Event()
        latencies: list[float] = []
        counts = {"lists": 0, "refused": 0, "list_errors": 0, "watch_chunks": 0}

        async def probe_loop() -> None:
            nonlocal node
            while not stop.is_set():
                started = time.perf_counter()
                with contextlib.suppress(Exception):
                    node = await probe.update_status("nodes", heartbeat(node))
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(1.0)

        async def list_loop() -> None:
            request = encode({"resource": "pods", "limit": 500})
            while not stop.is_set():
                try:
                    msg = await viewer.nc.request(api_subject(VIEWER, "list"), request, timeout=60)
                except Exception:
                    counts["list_errors"] += 1
                    continue
                reply = decode(msg.data)
                if "error" in reply and reply["error"].get("code") == 429:
                    counts["refused"] += 1
                    await asyncio.sleep(reply["error"].get("details", {}).get("retryAfterSeconds", 1))
                elif "error" in reply:
                    counts["list_errors"] += 1
                else:
                    counts["lists"] += 1

        async def slow_ack(msg: Any) -> None:
            counts["watch_chunks"] += 1
            await asyncio.sleep(2.0)
            with contextlib.suppress(Exception):
                await msg.respond(b"")

        for _ in range(watches):
            inbox = viewer.nc.new_inbox()
            await viewer.nc.subscribe(inbox, cb=slow_ack)
            await viewer.nc.request(
                api_subject(VIEWER, "watch"), encode({"resource": "pods", "stream": inbox}), timeout=30
            )
        tasks = [asyncio.ensure_future(probe_loop())] + [
            asyncio.ensure_future(list_loop()) for _ in range(lists)
        ]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.wait(tasks, timeout=60)
        for t in tasks:
            t.cancel()
        rss_after = rss_mb()
        listed, _ = await store.list("nodes")
        node_leases, _ = await store.list("leases", "kube-node-lease")
        leases = {item["metadata"]["name"]: item for item in node_leases}
        now = datetime.now(UTC)

        def stale(n: dict[str, Any]) -> bool:
            """As the node lifecycle controller judges it: the newer of the Ready condition's
            heartbeat and the node's Lease renewal (kubelets renew Leases, as since Kubernetes 1.14)."""
            beats = [lease_renew_time(leases.get(n["metadata"]["name"]))]
            for c in (n.get("status") or {}).get("conditions") or []:
                if c.get("type") == "Ready" and c.get("lastHeartbeatTime"):
                    beats.append(datetime.fromisoformat(str(c["lastHeartbeatTime"]).replace("Z", "+00:00")))
            known = [b for b in beats if b is not None]
            return bool(known) and (now - max(known)).total_seconds() > 40

        total = counts["lists"] + counts["refused"]
        return {
            "nodes": nodes,
            "pods": pods,
            "seconds": seconds,
            "probe_heartbeat_p50_s": round(percentile(latencies, 50), 4),
            "probe_heartbeat_p99_s": round(percentile(latencies, 99), 4),
            "probe_heartbeat_max_s": round(max(latencies or [0.0]), 4),
            "fleet": {k: v for k, v in fleet.stats().items() if k.startswith("heartbeat")},
            "nodes_stale_over_40s": sum(1 for n in listed if n["metadata"]["name"] != "probe" and stale(n)),
            "rss_growth_mb": round(rss_after - rss_before, 1),
            "viewer_lists": counts["lists"],
            "viewer_429": counts["refused"],
            "viewer_429_rate": round(counts["refused"] / total, 3) if total else 0.0,
            "viewer_list_errors": counts["list_errors"],
            "watch_chunks": counts["watch_chunks"],
        }
    finally:
        await sup.stop()
        for b in buses:
            with contextlib.suppress(Exception):
                await b.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--lists", type=int, default=32, help="the viewer's list loops (0: a control run)")
    parser.add_argument("--watches", type=int, default=20, help="the viewer's slow watches")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.nodes, args.pods, args.seconds, lists=args.lists, watches=args.watches))
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)  # the benchmark's output


if __name__ == "__main__":
    main()
