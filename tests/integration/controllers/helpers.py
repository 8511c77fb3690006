"""Helpers for the workload controllers' integration tests: run controllers, poll, act as a kubelet."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from actors.runtime.controller import Controller, run_controller
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor
from actors.workload.timeutil import utcnow
from schemas.errors import Conflict, NotFound
from schemas.status import format_time


@contextlib.asynccontextmanager
async def running(
    api: Any, *builders: Callable[[Any, SharedInformers], Controller | list[Controller]]
) -> AsyncIterator[list[Any]]:
    """Build controllers over one set of shared informers, run them supervised, stop them after.

    Yields what each builder returned (a controller, or a list of them), in order."""
    sup = Supervisor()
    informers = SharedInformers(api)
    built = [build(api, informers) for build in builders]
    controllers = [c for b in built for c in (b if isinstance(b, list) else [b])]
    informers.start(sup)
    for ctrl in controllers:
        sup.spawn(ctrl.name, lambda c=ctrl: run_controller(c))
    await informers.wait_synced(timeout=10)
    try:
        yield built
    finally:
        for ctrl in controllers:
            ctrl.queue.shutdown()
        await sup.stop()


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.03
) -> Any:
    """Poll ``check`` until it returns a truthy value (returned); AssertionError/NotFound mean not yet."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = await check()
        except (AssertionError, NotFound) as exc:
            last = exc
        else:
            if value:
                return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s: {last!r}")


async def pods_of(
    api: Any, owner_uid: str, namespace: str = "default", *, live: bool = True
) -> list[dict[str, Any]]:
    items = (await api.list("pods", namespace=namespace))["items"]
    out = []
    for pod in items:
        refs = pod["metadata"].get("ownerReferences") or []
        if not any(r.get("uid") == owner_uid and r.get("controller") for r in refs):
            continue
        if live and (
            pod["metadata"].get("deletionTimestamp")
            or pod.get("status", {}).get("phase") in ("Succeeded", "Failed")
        ):
            continue
        out.append(pod)
    return out


async def kubelet_status(
    api: Any,
    pod: dict[str, Any],
    *,
    phase: str = "Running",
    ready: bool = True,
    restarts: int = 0,
    exit_code: int | None = None,
) -> None:
    """Write a pod's status as its kubelet would (retrying on conflicts)."""
    name, namespace = pod["metadata"]["name"], pod["metadata"].get("namespace", "default")
    for _ in range(20):
        current = await api.get("pods", name, namespace=namespace)
        now = format_time(utcnow())
        state: dict[str, Any] = {"running": {"startedAt": now}}
        if exit_code is not None:
            state = {"terminated": {"exitCode": exit_code, "finishedAt": now}}
        current["status"] = {
            "phase": phase,
            "podIP": "10.1.0.9",
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            ],
            "containerStatuses": [
                {"name": c["name"], "restartCount": restarts, "ready": ready, "state": state}
                for c in current["spec"]["containers"]
            ],
        }
        try:
            await api.update_status("pods", current, namespace=namespace)
            return
        except Conflict:
            continue


async def finalize_deletions(api: Any, namespace: str = "default") -> None:
    """Remove pods that have a deletionTimestamp, as kubelets do once containers are stopped."""
    for pod in (await api.list("pods", namespace=namespace))["items"]:
        if pod["metadata"].get("deletionTimestamp"):
            with contextlib.suppress(NotFound):
                await api.delete("pods", pod["metadata"]["name"], namespace=namespace, grace_period_seconds=0)


@contextlib.asynccontextmanager
async def fake_kubelet(
    api: Any, namespace: str = "default", *, interval: float = 0.05
) -> AsyncIterator[None]:
    """Act as every node's kubelet: new pods turn Running and Ready, deleted pods go away."""

    async def loop() -> None:
        while True:
            for pod in (await api.list("pods", namespace=namespace))["items"]:
                if pod["metadata"].get("deletionTimestamp"):
                    with contextlib.suppress(NotFound):
                        await api.delete(
                            "pods", pod["metadata"]["name"], namespace=namespace, grace_period_seconds=0
                        )
                elif (pod.get("status") or {}).get("phase") in (None, "Pending"):
                    with contextlib.suppress(NotFound, Conflict):
                        await kubelet_status(api, pod)
            await asyncio.sleep(interval)

    task = asyncio.create_task(loop(), name="fake-kubelet")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
