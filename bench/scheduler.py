"""Scheduler throughput: N Node objects, M pending pods, pods bound per second.

    python bench/scheduler.py --nodes 5000 --pods 10000 [--affinity] [--spread] [--url nats://...]
        [--inline] [--no-scheduled-events] [--profile FILE]

What it does:

1. starts a nats-server in a temporary directory (unless ``--url``) and writes N Ready nodes
   (32 cpu, 128 GiB, 110 pods; label ``zone=z0..z4``) straight into the store;
2. starts the scheduler (``actors.scheduler.actor``, under leader election, as ``jetkube
   controlplane`` runs it) in a child process, or in this process with ``--inline``, and waits until
   it leads with synced informers;
3. writes M pending pods (100m cpu, 128 MiB; ``--affinity``: required node affinity ``zone In
   [z1, z3]``; ``--spread``: all owned by one ReplicationController) as pipelined compare-and-set
   creates, and counts the binds on the bucket's subjects (a plain NATS subscription, no decoding);
4. prints pods bound per second from the first create to the last bind seen, then the rate of the
   pure decision (``Scheduler.schedule`` on an in-memory cache of the same nodes, no I/O).

The scheduler records a Normal/Scheduled Event per bind, as kube-scheduler does
(``--no-scheduled-events`` to measure without them). ``--profile FILE`` writes a cProfile summary of
the scheduler process (and FILE.pstats); ``--inline`` runs the scheduler in the bench's own process.
The bench also prints the CPU seconds the scheduler process, nats-server and the bench client spent,
which says which of them bounds the figure.

Target on the 2-core reference machine: at least 5,000 pods/s at 5,000 nodes (issue 4).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.scheduler.decide import Scheduler
from actors.scheduler.nodeinfo import NodeCache
from bus.codec import encode
from bus.connection import Bus
from bus.embedded import EmbeddedNats, free_port
from bus.keys import object_key
from bus.store import EXPECTED_LAST, OP_HEADER, Store

ZONES = 5
RC_UID = "6f1f1c1e-0000-4000-8000-000000000001"


def make_node(i: int) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": f"node-{i:05d}",
            "labels": {"kubernetes.io/hostname": f"node-{i:05d}", "zone": f"z{i % ZONES}"},
        },
        "spec": {},
        "status": {
            "capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"},
            "allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
            "conditions": [
                {"type": "Ready", "status": "True", "lastHeartbeatTime": now, "reason": "KubeletReady"}
            ],
        },
    }


def make_pod(i: int, *, affinity: bool, spread: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"pod-{i:06d}", "namespace": "default", "labels": {"app": "bench"}}
    if spread:
        meta["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "kind": "ReplicationController",
                "name": "bench",
                "uid": RC_UID,
                "controller": True,
            }
        ]
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "app",
                "image": "pause",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            }
        ],
        "schedulerName": "default-scheduler",
        "restartPolicy": "Always",
    }
    if affinity:
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1", "z3"]}]}
                    ]
                }
            }
        }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": "Pending"}}


def stored_form(obj: dict[str, Any], i: int) -> dict[str, Any]:
    """What Store.create writes (uid, creationTimestamp, generation), built here to pipeline."""
    meta = dict(obj["metadata"])
    meta["uid"] = f"00000000-0000-4000-8000-{i:012d}"
    meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    meta["generation"] = 1
    return {**obj, "metadata": meta}


async def create_pipelined(
    store: Store, resource: str, objs: list[dict[str, Any]], window: int = 2000
) -> None:
    """Compare-and-set creates (expected last sequence 0) with many in flight, as Store.create writes them."""
    js = store.js
    pending: list[Any] = []
    for i, obj in enumerate(objs):
        meta = obj["metadata"]
        subject = store.prefix + object_key(resource, meta.get("namespace"), meta["name"])
        fut = await js.publish_async(
            subject, encode(stored_form(obj, i)), headers={EXPECTED_LAST: "0", OP_HEADER: "create"}
        )
        pending.append(fut)
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending.clear()
    if pending:
        await asyncio.gather(*pending)


# --- the scheduler under test -----------------------------------------------------------------


async def start_scheduler(url: str, identity: str, scheduled_events: bool = True) -> tuple[Any, Any, Bus]:
    """SharedInformers + SchedulerActor + LeaderElector, as run_scheduler wires them; returns when leading."""
    from actors.runtime.leader import LeaderElector, StoreLeaseBackend
    from actors.runtime.listwatch import StoreListWatcher
    from actors.runtime.shared import SharedInformers
    from actors.runtime.supervisor import Supervisor
    from actors.scheduler.actor import LEASE_NAME, SchedulerActor
    from bus.events import EventRecorder, ensure_stream

    bus = await Bus.connect(url, name=identity)
    store = await Store.open(bus)
    sup = Supervisor("bench-scheduler")
    informers = SharedInformers(StoreListWatcher(store))
    await ensure_stream(bus)
    actor = SchedulerActor(
        store,
        pods=informers.informer("pods"),
        nodes=informers.informer("nodes"),
        recorder=EventRecorder(bus, component="default-scheduler"),
        scheduled_events=scheduled_events,
    )
    informers.start(sup)
    elector = LeaderElector(StoreLeaseBackend(store), LEASE_NAME, identity)
    actor.fence.bind(elector)  # fenced binds, as in the control plane
    sup.spawn("scheduler", lambda: elector.run(actor.run))
    await informers.wait_synced(timeout=120)
    deadline = time.monotonic() + 120
    while not elector.is_leader:
        if time.monotonic() > deadline:
            raise SystemExit("the scheduler did not become leader within 120 s")
        await asyncio.sleep(0.02)
    return actor, sup, bus


async def serve_scheduler(url: str, scheduled_events: bool = True) -> None:
    """Child process role: run the scheduler until stdin closes; print READY and, at the end, stats."""
    actor, sup, bus = await start_scheduler(url, f"bench-{os.getpid()}", scheduled_events)
    print("READY", flush=True)
    cpu0 = time.process_time()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    print(f"STATS {dict(actor.stats)} cpu={time.process_time() - cpu0:.2f}s", flush=True)
    await sup.stop()
    await bus.close()


async def profiled_child(url: str, out: str, scheduled_events: bool) -> None:
    """Child role under cProfile: the top functions by own time go to ``out``."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        await serve_scheduler(url, scheduled_events)
    finally:
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(45)
        Path(out).write_text(text.getvalue())  # noqa: ASYNC240 - once, at exit
        profiler.dump_stats(out + ".pstats")


# --- measurements -----------------------------------------------------------------------------


async def end_to_end(url: str, args: argparse.Namespace) -> dict[str, float]:
    bus = await Bus.connect(url, name="bench")
    store = await Store.open(bus)
    t0 = time.perf_counter()
    await create_pipelined(store, "nodes", [make_node(i) for i in range(args.nodes)])
    print(f"{args.nodes} nodes written in {time.perf_counter() - t0:.2f} s")

    child = None
    inline = None
    if args.inline:
        inline = await start_scheduler(url, "bench-inline", not args.no_scheduled_events)
    else:
        cmd = [sys.executable, __file__, "--serve-scheduler", url]
        if args.profile:
            cmd += ["--profile-out", args.profile]
        if args.no_scheduled_events:
            cmd += ["--no-scheduled-events"]
        child = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 180)
        if not line.startswith(b"READY"):
            raise SystemExit(f"scheduler child failed to start: {line!r}")
    print("scheduler leading with synced caches")

    pods = [make_pod(i, affinity=args.affinity, spread=args.spread) for i in range(args.pods)]
    bound = 0
    done = asyncio.Event()
    last_bind = 0.0

    async def on_msg(msg: Any) -> None:
        nonlocal bound, last_bind
        if (msg.headers or {}).get(OP_HEADER) == "update":
            bound += 1
            if bound >= args.pods:
                last_bind = time.perf_counter()
                done.set()

    sub = await bus.nc.subscribe(store.prefix + "pods.>", cb=on_msg)
    server_cpu0 = _server_cpu(args.server_pid)
    cpu0 = time.process_time()
    start = time.perf_counter()
    await create_pipelined(store, "pods", pods)
    created = time.perf_counter()
    try:
        await asyncio.wait_for(done.wait(), args.timeout)
    except TimeoutError:
        print(f"timeout: {bound}/{args.pods} bound after {args.timeout} s")
        last_bind = time.perf_counter()
    await sub.unsubscribe()
    if args.server_pid:
        print(
            f"cpu during the run: nats-server {_server_cpu(args.server_pid) - server_cpu0:.2f}s, "
            f"bench client {time.process_time() - cpu0:.2f}s"
        )
    result = {
        "create_rate": args.pods / (created - start),
        "bound": bound,
        "seconds": last_bind - start,
        "bind_rate": bound / (last_bind - start),
    }
    if child is not None:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.close()
        rest = (await asyncio.wait_for(child.stdout.read(), 120)).decode()
        await child.wait()
        for line in rest.splitlines():
            if line.startswith("STATS"):
                print("scheduler", line)
    if inline is not None:
        actor, sup, ibus = inline
        print("scheduler STATS", dict(actor.stats))
        await sup.stop()
        await ibus.close()
    await bus.close()
    return result


def _server_cpu(pid: int | None) -> float:
    """utime + stime of a process from /proc (Linux), in seconds."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pure_rate(args: argparse.Namespace) -> float:
    cache = NodeCache()
    for i in range(args.nodes):
        cache.set_node(make_node(i))
    sched = Scheduler(cache, rng=random.Random(0))
    pods = [make_pod(i, affinity=args.affinity, spread=args.spread) for i in range(args.pods)]
    t0 = time.perf_counter()
    placed = sum(sched.schedule(pod).node_name is not None for pod in pods)
    dt = time.perf_counter() - t0
    assert placed == len(pods), f"only {placed} of {len(pods)} placed"
    return len(pods) / dt


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--affinity", action="store_true", help="pods require zone In [z1, z3]")
    parser.add_argument("--spread", action="store_true", help="pods share one controller owner")
    parser.add_argument("--url", help="an existing nats-server (default: start one)")
    parser.add_argument("--inline", action="store_true", help="run the scheduler in this process")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--no-scheduled-events", action="store_true", help="do not record a Normal/Scheduled event per bind"
    )
    parser.add_argument("--profile", help="write a cProfile summary of the scheduler process to this file")
    parser.add_argument("--serve-scheduler", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.server_pid = None

    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    if args.serve_scheduler:
        if args.profile_out:
            asyncio.run(profiled_child(args.serve_scheduler, args.profile_out, not args.no_scheduled_events))
        else:
            asyncio.run(serve_scheduler(args.serve_scheduler, not args.no_scheduled_events))
        return

    print(
        f"scheduler bench: {args.nodes} nodes, {args.pods} pods, "
        f"affinity={args.affinity}, spread={args.spread}"
    )
    with contextlib.ExitStack() as stack:
        url = args.url
        if url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="jetkube-bench-"))
            server = EmbeddedNats(data_dir=Path(tmp) / "nats", port=free_port())
            server.start()
            stack.callback(server.stop)
            url = server.url
            args.server_pid = server.process.pid if server.process else None
        result = asyncio.run(end_to_end(url, args))
    print(
        f"created {args.pods} pods at {result['create_rate']:.0f}/s; bound {result['bound']} in "
        f"{result['seconds']:.2f} s: {result['bind_rate']:.0f} pods/s end to end (first create to last bind)"
    )
    print(f"pure decide+assume (no I/O): {pure_rate(args):.0f} pods/s")


if __name__ == "__main__":
    main()
