"""``kubectl logs`` and ``kubectl exec`` through the gateway to a kubelet's server on NATS, against
containers on the real Docker engine (made by hand and labelled as a kubelet labels them, as in
tests/e2e/kubelet_services; no kubelet runs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.kubelet.runtime import DockerRuntime
from actors.kubelet.server import KubeletServer
from actors.runtime.supervisor import Supervisor
from tests.e2e.kubelet_services.helpers import BUSYBOX, exited, pod_manifest, sandbox_for, start_attempt
from tests.integration.gateway.conftest import KUBECTL, Cluster
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio

FIRST = {"name": "app", "image": BUSYBOX, "command": ["sh", "-c", "echo first-attempt; exit 3"]}
SECOND = {
    "name": "app",
    "image": BUSYBOX,
    "command": [
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line-$i; done;"
        " while [ ! -f /tmp/go ]; do sleep 0.1; done; echo after-go; exec sleep 3600",
    ],
}


@pytest.fixture
async def pod(
    bus: Any, api: Any, runtime: DockerRuntime, node_name: Any, cluster: Cluster
) -> AsyncIterator[str]:
    """A pod bound to a fresh node: its first attempt dead (exit 3), its second running; that
    node's KubeletServer serving."""
    node = node_name()
    created = await api.create("pods", pod_manifest("logme", node, [SECOND]))
    sandbox = await sandbox_for(runtime, created, node)
    await exited(runtime, await start_attempt(runtime, sandbox, created, FIRST, 0))
    await start_attempt(runtime, sandbox, created, SECOND, 1)
    sup = Supervisor()
    server = KubeletServer(bus, runtime, node)
    sup.spawn("kubelet-server", server.run)
    await asyncio.wait_for(server.serving.wait(), 10)

    async def five_lines() -> bool:
        return "line-5" in (await cluster.kubectl("logs", "logme")).out

    await wait_for(five_lines, 20, "the second attempt's lines")
    try:
        yield "logme"
    finally:
        await sup.stop()


async def test_kubectl_logs_tail_previous_and_exec_exit_codes(cluster: Cluster, pod: str) -> None:
    assert (await cluster.ok("logs", pod)).splitlines() == [f"line-{i}" for i in range(1, 6)]
    assert (await cluster.ok("logs", pod, "--tail=2")).splitlines() == ["line-4", "line-5"]
    assert (await cluster.ok("logs", pod, "-p")).splitlines() == ["first-attempt"]
    missing = await cluster.kubectl("logs", pod, "-c", "nope")
    assert missing.code == 1
    assert missing.err.strip() == "error: container nope is not valid for pod logme"  # kubectl's own check

    assert (await cluster.ok("exec", pod, "--", "echo", "hello")).strip() == "hello"
    failed = await cluster.kubectl("exec", pod, "--", "sh", "-c", "echo partial; exit 3")
    assert (failed.code, failed.out.strip()) == (3, "partial")
    assert "command terminated with exit code 3" in failed.err


async def test_kubectl_logs_follow_streams_new_lines(cluster: Cluster, pod: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "logs",
        "-f",
        pod,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cluster.env,
    )
    try:
        assert proc.stdout is not None
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip() for _ in range(5)]
        assert lines == [f"line-{i}" for i in range(1, 6)]
        await cluster.ok("exec", pod, "--", "touch", "/tmp/go")
        assert (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip() == "after-go"
    finally:
        proc.kill()
        await proc.wait()


async def test_kubectl_attach_streams_the_containers_new_output(cluster: Cluster, pod: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "attach",
        pod,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cluster.env,
    )
    assert proc.stdout is not None
    stdout = proc.stdout

    async def attached() -> bool:  # a line written to the container's own stdout reaches attach
        await cluster.ok("exec", pod, "--", "sh", "-c", "echo ping > /proc/1/fd/1")
        try:
            return "ping" in (await asyncio.wait_for(stdout.readline(), 2)).decode()
        except TimeoutError:
            return False

    try:
        await wait_for(attached, 30, "kubectl attach receiving the container's output")
        await cluster.ok("exec", pod, "--", "touch", "/tmp/go")

        async def after_go() -> bool:
            line = (await asyncio.wait_for(stdout.readline(), 20)).decode().strip()
            return line == "after-go"

        await wait_for(after_go, 20, "the line the container printed after attaching")
    finally:
        proc.kill()
        await proc.wait()
