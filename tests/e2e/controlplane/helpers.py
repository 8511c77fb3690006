"""Polling, object builders and readers for the control-plane end-to-end tests."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from typing import Any

from schemas.errors import NotFound
from tests.integration.cli_workloads.helpers import jetkube

Obj = dict[str, Any]

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


async def with_api(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from bus.client import ApiClient
    from bus.connection import Bus
    from schemas.errors import JetkubeError

    deadline = time.monotonic() + 30
    while True:
        try:
            bus = await Bus.connect(url, name="e2e-setup")
            break
        except JetkubeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
    try:
        return await work(ApiClient(bus, timeout=5))
    finally:
        await bus.close()


async def wait(check: Callable[[], Awaitable[Any]], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``check`` until truthy; AssertionError and NotFound mean "not yet"; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = await check()
            if value:
                return value
            last = value
        except (AssertionError, NotFound) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval)


def container(
    name: str = "main", image: str = "busybox:latest", command: list[str] | None = None, **kw: Any
) -> Obj:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command or SLEEPER,
        **kw,
    }


def pod_template(app: str, *containers: Obj, **spec: Any) -> Obj:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": list(containers) or [container()], **spec},
    }


def rc(name: str, replicas: int, template: Obj | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"app": name}, "template": template or pod_template(name)},
    }


CRONJOB: Obj = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "minutely"},
    "spec": {
        "schedule": "*/1 * * * *",
        "jobTemplate": {
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "terminationGracePeriodSeconds": 1,
                        "containers": [container("hello", command=["echo", "hello from the cron job"])],
                    }
                }
            }
        },
    },
}


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def is_live(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


def running_ready(pod: Obj) -> bool:
    return is_live(pod) and (pod.get("status") or {}).get("phase") == "Running" and is_ready(pod)


async def pods(api: Any, ns: str, app: str | None = None) -> list[Obj]:
    return (await api.list("pods", ns, label_selector=f"app={app}" if app else None))["items"]


async def live_pods(api: Any, ns: str, app: str | None = None) -> list[Obj]:
    return [p for p in await pods(api, ns, app) if is_live(p)]


async def wait_running(api: Any, ns: str, app: str, count: int, timeout: float = 40.0) -> list[Obj]:
    async def check() -> list[Obj] | None:
        items = await live_pods(api, ns, app)
        ok = [p for p in items if running_ready(p)]
        return items if len(ok) == count == len(items) else None

    return await wait(check, timeout, f"{count} running ready pods of app={app} in {ns}")


async def node_ready(api: Any, node: str) -> bool:
    try:
        obj = await api.get("nodes", node)
    except NotFound:
        return False
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in obj.get("status", {}).get("conditions") or []
    )


def node_of(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def deep(obj: Obj) -> Obj:
    return copy.deepcopy(obj)


async def cli(url: str, *args: str, timeout: float = 60.0) -> tuple[int, str, str]:
    return await jetkube(url, *args, timeout=timeout)
