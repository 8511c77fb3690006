"""Asking the cluster how its processes are: the client side of the health agent.

:func:`gather` publishes one request on ``jetkube.health`` and collects the replies until every
process known from a recent heartbeat has answered or the deadline passes (so a healthy cluster
answers in one round trip, and a dead process costs the deadline once). :func:`cluster_health`
joins the live answers, the heartbeats and the leases (who leads what) into component statuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors

from actors.health.agent import BEATS_BUCKET, HEALTH_SUBJECT, decode_report
from actors.health.report import ComponentStatus, component_statuses, leaders
from bus.cancelsafe import wait_for
from bus.codec import decode, encode
from bus.connection import Bus
from bus.store import Store, last_per_subject
from schemas.errors import ServiceUnavailable

STALE_AFTER = 30.0


async def heartbeats(bus: Bus) -> dict[str, dict[str, Any]]:
    """Every process's last heartbeat (empty when no process ever wrote one).

    Read as a list is (bus/store.py), not with nats-py's KV watch: that stops at the first "nothing
    pending" and could miss a process whose beat lands while the bucket is read."""
    try:
        await bus.js.key_value(BEATS_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        return {}
    stream = f"KV_{BEATS_BUCKET}"  # a KV bucket's stream, by JetStream's naming
    prefix = f"$KV.{BEATS_BUCKET}."
    out: dict[str, dict[str, Any]] = {}
    for subject, (data, _seq) in (await last_per_subject(bus, stream, prefix + ">")).items():
        value = decode(data) if data else None
        if isinstance(value, dict):
            out[subject.removeprefix(prefix)] = value
    return out


async def gather(
    bus: Bus, *, timeout: float = 1.5, expect: set[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Live reports by process id; waits for ``expect`` (or the deadline)."""
    nc = bus.nc
    replies: dict[str, dict[str, Any]] = {}
    complete = asyncio.Event()

    async def collect(msg: Any) -> None:
        report = decode_report(msg.data)
        if report is not None:
            replies[str(report.get("id"))] = report
            if expect and expect <= replies.keys():
                complete.set()

    inbox = nc.new_inbox()
    try:
        sub = await nc.subscribe(inbox, cb=collect)
        await nc.publish(HEALTH_SUBJECT, encode({}), reply=inbox)
        await nc.flush()
    except nats.errors.Error as err:
        raise ServiceUnavailable(f"cannot ask for health at {bus.url}: {err}") from err
    try:
        with contextlib.suppress(TimeoutError):
            await wait_for(complete.wait(), timeout)
    finally:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()
    return replies


@dataclass(frozen=True)
class ClusterHealth:
    rows: list[ComponentStatus]
    leaders: dict[str, str]  # lease -> holder identity
    now: float


async def cluster_health(bus: Bus, *, timeout: float = 1.5) -> ClusterHealth:
    now = time.time()
    beats = await heartbeats(bus)
    fresh = {
        pid
        for pid, b in beats.items()
        if not b.get("stopped") and now - float(b.get("time") or 0) < STALE_AFTER
    }
    live = await gather(bus, timeout=timeout, expect=fresh or None)
    try:
        leases, _ = await Store(bus).list("leases")
    except Exception:  # no bucket yet: nobody leads anything
        leases = []
    holders = leaders(leases, time.time())
    now = time.time()
    rows = component_statuses(live, beats, holders, stale_after=STALE_AFTER, now=now)
    return ClusterHealth(rows=rows, leaders=holders, now=now)


async def wait_all_answer(bus: Bus, ids: set[str], timeout: float) -> dict[str, dict[str, Any]]:
    """Gather until every id answered (tests and the upgrade procedure)."""
    deadline = time.monotonic() + timeout
    while True:
        live = await gather(bus, timeout=1.0, expect=ids)
        if ids <= live.keys() or time.monotonic() > deadline:
            return live
        await asyncio.sleep(0.2)
