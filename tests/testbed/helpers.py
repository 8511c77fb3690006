"""What the test bed's tests share: a connection to the bed, polling with a deadline, and the
questions they ask of it (an RC's pods, a node's readiness, what runs on the engine)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import nats

from bus.client import ApiClient
from bus.connection import Bus
from cli.testbed import NODE_LABEL, NODES, SERVERS, Testbed, docker, node_ready
from schemas.errors import JetkubeError

T = TypeVar("T")
Obj = dict[str, Any]


async def connect_bed(name: str = "testbed-test", js_timeout: float = 5.0) -> Bus:
    """A Bus on all three NATS servers' loopback ports (it survives losing any one of them)."""
    nc = await nats.connect(
        servers=list(SERVERS),
        name=name,
        connect_timeout=3,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        dont_randomize=True,
    )
    return Bus(nc=nc, js=nc.jetstream(timeout=js_timeout), url=",".join(SERVERS), name=name)


@asynccontextmanager
async def bed_api() -> AsyncIterator[ApiClient]:
    bus = await connect_bed()
    try:
        yield ApiClient(bus)
    finally:
        await bus.close()


async def poll(check: Callable[[], Awaitable[T | None]], timeout: float, what: str, every: float = 0.5) -> T:
    """Call ``check`` until it returns something truthy; AssertionError after ``timeout`` seconds.

    A JetkubeError from ``check`` (the bed is busy failing over) counts as "not yet"."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = await check()
            if result:
                return result
            last = result
        except JetkubeError as err:
            last = err.cli_line()
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g}s: {what} (last: {last!r})")
        await asyncio.sleep(every)


async def hold(check: Callable[[], Awaitable[bool]], seconds: float, what: str, every: float = 0.5) -> None:
    """Assert that ``check`` stays true for ``seconds`` (converged, not passing through)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert await check(), f"no longer true: {what}"
        await asyncio.sleep(every)


def alive(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


def running(pod: Obj) -> bool:
    return alive(pod) and (pod.get("status") or {}).get("phase") == "Running"


def selector_string(match: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(match.items()))


async def pods(api: ApiClient, namespace: str, labels: dict[str, str]) -> list[Obj]:
    res = await api.list("pods", namespace=namespace, label_selector=selector_string(labels))
    return [p for p in res["items"] if alive(p)]


async def nodes_by_name(api: ApiClient) -> dict[str, Obj]:
    return {n["metadata"]["name"]: n for n in (await api.list("nodes"))["items"]}


async def ready_nodes(api: ApiClient) -> set[str]:
    return {name for name, n in (await nodes_by_name(api)).items() if node_ready(n)}


BED_SERVICES = 10  # compose.yaml: 3 NATS servers, 2 control planes, 3 nodes, the proxy and the DNS


async def wait_bed_whole(bed: Testbed, timeout: float = 120.0) -> None:
    """Every container of the bed running and the three nodes Ready."""
    why = ""

    async def whole() -> bool:
        nonlocal why
        states = {r["service"]: r["state"] for r in await asyncio.to_thread(bed.containers)}
        down = sorted(name for name, s in states.items() if s != "running")
        if down or len(states) < BED_SERVICES:
            why = f"{len(states)} containers, not running: {down}"
            return False
        async with bed_api() as api:
            ready = await ready_nodes(api)
        why = f"nodes Ready: {sorted(ready)}"
        return ready == set(NODES.values())

    try:
        await poll(whole, timeout, f"the bed whole again ({BED_SERVICES} containers running, 3 nodes Ready)")
    except AssertionError as err:
        raise AssertionError(f"{err}; {why}") from None


def engine_containers(node: str, *, running_only: bool = True) -> list[Obj]:
    """The containers the engine holds for one node: id, pod namespace/name/uid, type, state."""
    args = ["ps", "-q", "--filter", f"label={NODE_LABEL}={node}"]
    if not running_only:
        args.insert(1, "-a")
    ids = docker(*args).split()
    if not ids:
        return []
    out = []
    for item in json.loads(docker("inspect", *ids, check=False) or "[]"):
        labels = item["Config"].get("Labels") or {}
        out.append(
            {
                "id": item["Id"],
                "namespace": labels.get("io.jetkube.pod.namespace", ""),
                "pod": labels.get("io.jetkube.pod.name", ""),
                "uid": labels.get("io.jetkube.pod.uid", ""),
                "type": labels.get("io.jetkube.type", ""),
                "running": bool(item["State"].get("Running")),
            }
        )
    return out
