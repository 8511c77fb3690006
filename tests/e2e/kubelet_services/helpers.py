"""Helpers: polling with a deadline, the CLI as a subprocess, pods made by hand as a kubelet would."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from actors.kubelet.runtime import DockerRuntime, SandboxInfo
from tests.waiting import wait_for

BUSYBOX = "gcr.io/google_containers/busybox"


async def jetkube(url: str, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        args[0],
        "--server",
        url,
        *args[1:],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


def pod_manifest(name: str, node: str, containers: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", **meta},
        "spec": {"nodeName": node, "containers": containers, "restartPolicy": "Always"},
    }


async def sandbox_for(rt: DockerRuntime, pod: dict[str, Any], node: str) -> SandboxInfo:
    meta = pod["metadata"]
    return await rt.create_sandbox(f"{meta['namespace']}/{meta['name']}", meta["uid"], node, meta["name"])


async def start_attempt(
    rt: DockerRuntime, sb: SandboxInfo, pod: dict[str, Any], container: dict[str, Any], attempt: int
) -> str:
    cid = await rt.create_container(sb, pod, container, attempt=attempt)
    await rt.start(cid)
    return cid


async def exited(rt: DockerRuntime, cid: str, timeout: float = 20.0) -> None:
    async def check() -> bool:
        return (await rt.inspect(cid)).exit_code is not None

    await wait_for(check, timeout, what=f"container {cid[:12]} to exit")
