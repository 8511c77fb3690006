"""One chaos run on the test bed: the workload and the nemesis at once, then convergence, final reads
and the checker. Files in ``out``: ``history.jsonl`` (the operations), ``faults.json``,
``replicas.json`` (the RC's replicas over time and the pod samples), ``report.txt`` and
``report.json``.

Start the bed first (``jetkube testbed up``); the run heals every fault it caused, also when it is
interrupted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import structlog

from cli.chaos.history import save
from cli.chaos.nemesis import BedNemesis, Fault, schedule
from cli.chaos.replicas import RC_NAME, Binding, Sample, create_rc, judge_samples, rebound, sampler, scaler
from cli.chaos.report import Verdict, as_dict, judge, text
from cli.chaos.workload import NAMESPACE, Recorder, client, counter_name, create_counters, read
from schemas.errors import JetkubeError

log = structlog.get_logger(__name__)
FINAL_PROCESS = 10_000  # the process number of the final reads


async def _connect() -> Any:
    import nats

    from bus.connection import Bus
    from cli.testbed import SERVERS

    nc = await nats.connect(
        servers=list(SERVERS),
        name="chaos",
        connect_timeout=3,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
    )
    return Bus(nc=nc, js=nc.jetstream(timeout=5), url=",".join(SERVERS), name="chaos")


async def _drive(nemesis: BedNemesis, faults: list[Fault], rec: Recorder, healed: list[float]) -> None:
    for fault in faults:
        await asyncio.sleep(max(0.0, fault.at - rec.now()))
        await nemesis.cause(fault)
        await asyncio.sleep(fault.hold)
        await nemesis.heal(fault)
        healed.append(rec.now())


async def _converge(api: Any, keys: list[str], rec: Recorder, timeout: float) -> dict[str, int | None]:
    """Final reads of every counter (in the history), retried until each answers."""
    from cli.testbed import SERVER, wait_nodes_ready

    final: dict[str, int | None] = dict.fromkeys(keys)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(v is None for v in final.values()):
        for key in keys:
            if final[key] is None:
                got = await read(api, rec, FINAL_PROCESS, key)
                final[key] = None if got is None else got[0]
        await asyncio.sleep(0.2)
    await wait_nodes_ready(SERVER, 3, max(1.0, deadline - time.monotonic()))
    return final


async def _run(
    seed: int, duration: float, faults: list[Fault], clients: int, counters: int, converge_timeout: float
) -> tuple[Recorder, dict[str, int | None], float | None, dict[str, Any]]:
    from bus.client import ApiClient

    nemesis = BedNemesis()
    bus = await _connect()
    api = ApiClient(bus, timeout=5.0)
    keys = [counter_name(i) for i in range(counters)]
    await create_counters(api, counters)
    rec = Recorder()
    stop = asyncio.Event()
    healed: list[float] = []
    scales: list[tuple[float, int]] = []
    samples: list[Sample] = []
    bindings: list[Binding] = []
    await create_rc(api, rec, scales)
    try:
        async with asyncio.TaskGroup() as tg:
            for p in range(clients):
                tg.create_task(client(api, rec, p, keys, seed, stop), name=f"chaos-client-{p}")
            tg.create_task(scaler(api, rec, scales, seed, stop), name="chaos-scaler")
            tg.create_task(sampler(api, rec, samples, stop, bindings), name="chaos-sampler")
            await _drive(nemesis, faults, rec, healed)
            await asyncio.sleep(max(0.0, duration - rec.now()))
            stop.set()
    finally:
        await nemesis.heal_all()
    last_heal = healed[-1] if healed else 0.0
    convergence: float | None = None
    try:
        final = await _converge(api, keys, rec, converge_timeout)
        if all(v is not None for v in final.values()):
            convergence = rec.now() - last_heal
    except JetkubeError as err:
        log.warning("chaos.not_converged", error=str(err))
        final = dict.fromkeys(keys)
    over, late = judge_samples(samples, scales)
    replication = {
        "samples": len(samples),
        "over": over,
        "late": late,
        "scales": scales,
        "series": samples,
        "bindings": bindings,
        "rebound": rebound(bindings),
    }
    try:
        await api.delete("replicationcontrollers", RC_NAME, namespace=NAMESPACE)
    except JetkubeError as err:
        log.warning("chaos.cleanup_failed", error=str(err))
    await bus.close()
    return rec, final, convergence, replication


def run_chaos(
    seed: int,
    duration: float,
    out: Path,
    *,
    clients: int = 4,
    counters: int = 3,
    converge_timeout: float = 120.0,
) -> tuple[Verdict, str]:
    """The run, its files in ``out``, and the verdict with its text report."""
    out.mkdir(parents=True, exist_ok=True)
    faults = schedule(seed, duration)
    (out / "faults.json").write_text(json.dumps([asdict(f) for f in faults], indent=1))
    rec, final, convergence, replication = asyncio.run(
        _run(seed, duration, faults, clients, counters, converge_timeout)
    )
    save(rec.events, out / "history.jsonl")
    (out / "replicas.json").write_text(
        json.dumps(
            {
                "scales": replication["scales"],
                "samples": replication["series"],
                "bindings": replication["bindings"],
            }
        )
    )
    times = [s[0] for s in replication["series"]]
    gap = max((b - a for a, b in itertools.pairwise(times)), default=0.0)
    verdict = judge(
        rec.events,
        faults,
        final,
        convergence,
        replication["samples"],
        replication["over"],
        late_scale_downs=replication["late"],
        rebound=replication["rebound"],
    )
    verdict.notes.append(
        f"RC samples: {len(times)} (one per 100 ms while the api answers a list; longest gap {gap:.1f} s)"
    )
    report = text(verdict, seed, duration, faults)
    (out / "report.txt").write_text(report)
    (out / "report.json").write_text(json.dumps(as_dict(verdict), indent=1, default=str))
    return verdict, report
