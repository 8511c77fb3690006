"""logs and exec through the kubelet's server on NATS, against containers on the real engine.

The containers are made by hand with the Docker runtime and labelled as a kubelet labels them,
for a pod created in the api (so the CLI finds its node); no kubelet runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.job.plan import job_labels
from actors.kubelet.runtime import DockerRuntime
from actors.kubelet.server import KubeletServer, node_subject
from actors.kubelet.server_client import node_exec, node_logs
from actors.runtime.supervisor import Supervisor
from bus.connection import Bus
from bus.rpc import request
from schemas.errors import BadRequest
from tests.e2e.kubelet_services.helpers import (
    BUSYBOX,
    exited,
    jetkube,
    pod_manifest,
    sandbox_for,
    start_attempt,
    wait_for,
)

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
async def served(bus: Bus, api: Any, runtime: DockerRuntime, node_name) -> AsyncIterator[dict[str, Any]]:
    """A pod in the api bound to a fresh node, its first attempt dead (exit 3) and its second
    running, and that node's KubeletServer serving."""
    node = node_name()
    pod = await api.create("pods", pod_manifest("logme", node, [SECOND]))
    sb = await sandbox_for(runtime, pod, node)
    first = await start_attempt(runtime, sb, pod, FIRST, 0)
    await exited(runtime, first)
    second = await start_attempt(runtime, sb, pod, SECOND, 1)
    sup = Supervisor()
    server = KubeletServer(bus, runtime, node)
    sup.spawn("kubelet-server", server.run)
    await asyncio.wait_for(server.serving.wait(), 10)

    async def five_lines() -> bool:
        return len(await logs_of(bus, node, {})) >= 5

    await wait_for(five_lines, what="the second attempt's first lines")
    try:
        yield {"node": node, "pod": pod, "server": server, "second": second}
    finally:
        await sup.stop()


async def logs_of(bus: Bus, node: str, extra: dict[str, Any]) -> list[str]:
    reply = await request(
        bus, node_subject(node, "logs"), {"namespace": "default", "pod": "logme", "container": "app", **extra}
    )
    return list(reply["lines"])


async def test_logs_tail_since_previous_timestamps(bus: Bus, served: dict[str, Any]) -> None:
    node = served["node"]
    assert await logs_of(bus, node, {}) == [f"line-{i}" for i in range(1, 6)]
    assert await logs_of(bus, node, {"tail": 2}) == ["line-4", "line-5"]
    assert await logs_of(bus, node, {"previous": True}) == ["first-attempt"]
    stamped = await logs_of(bus, node, {"tail": 1, "timestamps": True})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line-5", stamped[0]), stamped
    await asyncio.sleep(1.5)  # the lines are now older than a second
    assert await logs_of(bus, node, {"since": 1}) == []
    assert len(await logs_of(bus, node, {"since": 600})) == 5
    # by uid as well as by name; the pod's uid is what the CLI sends
    assert len(await logs_of(bus, node, {"uid": served["pod"]["metadata"]["uid"]})) == 5


async def test_logs_errors(bus: Bus, served: dict[str, Any]) -> None:
    node = served["node"]
    with pytest.raises(BadRequest) as err:
        await logs_of(bus, node, {"container": "nope"})
    assert err.value.message == 'container "nope" in pod "logme" is waiting to start: ContainerCreating'
    with pytest.raises(BadRequest, match="follow needs a stream"):
        await logs_of(bus, node, {"follow": True})


async def test_follow_streams_new_lines_and_stops_when_the_client_goes(
    bus: Bus, runtime: DockerRuntime, served: dict[str, Any]
) -> None:
    node = served["node"]
    seen: list[str] = []
    payload = {"namespace": "default", "pod": "logme", "container": "app", "follow": True}
    follower = asyncio.get_running_loop().create_task(node_logs(bus, node, payload, seen.extend))
    try:

        async def has(line: str) -> bool:
            return line in seen

        await wait_for(lambda: has("line-5"), what="the existing lines")
        assert "after-go" not in seen
        reply = await node_exec(
            bus, node, {"namespace": "default", "pod": "logme", "command": ["touch", "/tmp/go"]}
        )
        assert reply["exitCode"] == 0
        await wait_for(lambda: has("after-go"), what="a line written after the follow began")
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower

    async def no_streams() -> bool:
        return not [t for t in asyncio.all_tasks() if t.get_name().startswith("logs-stream-")]

    await wait_for(no_streams, timeout=30, what="the server to stop streaming to a gone client")


async def test_follow_ends_when_the_container_ends(
    bus: Bus, runtime: DockerRuntime, served: dict[str, Any]
) -> None:
    node = served["node"]
    seen: list[str] = []
    payload = {"namespace": "default", "pod": "logme", "container": "app", "follow": True}
    follower = asyncio.get_running_loop().create_task(node_logs(bus, node, payload, seen.extend))
    await wait_for(lambda: asyncio.sleep(0, "line-5" in seen), what="the lines")
    await runtime.kill(served["second"])
    await asyncio.wait_for(follower, 20)  # returns on eof


async def test_exec_output_and_exit_code(bus: Bus, served: dict[str, Any]) -> None:
    node = served["node"]
    reply = await node_exec(
        bus,
        node,
        {"namespace": "default", "pod": "logme", "command": ["sh", "-c", "echo out; echo err >&2; exit 7"]},
    )
    assert reply["exitCode"] == 7
    assert set(reply["output"].splitlines()) == {"out", "err"}


async def test_cli_logs_and_exec(nats_url: str, served: dict[str, Any]) -> None:
    code, out, err = await jetkube(nats_url, "logs", "logme", "--tail", "2")
    assert (code, out) == (0, "line-4\nline-5\n"), err
    code, out, err = await jetkube(nats_url, "logs", "pod/logme", "-p")
    assert (code, out) == (0, "first-attempt\n"), err
    code, out, err = await jetkube(nats_url, "logs", "logme", "--since", "1h", "-c", "app")
    assert out.splitlines() == [f"line-{i}" for i in range(1, 6)], err
    code, out, err = await jetkube(nats_url, "logs", "logme", "-c", "nope")
    assert (
        code == 1
        and err.strip() == "Error from server (BadRequest): container nope is not valid for pod logme"
    )
    code, out, err = await jetkube(nats_url, "logs", "logme", "--since", "5x")
    assert code == 1 and "invalid duration" in err
    code, out, err = await jetkube(nats_url, "exec", "logme", "--", "sh", "-c", "echo hi; exit 4")
    assert (code, out) == (4, "hi\n")
    assert err.strip() == "command terminated with exit code 4"
    code, out, err = await jetkube(nats_url, "exec", "logme", "-c", "app", "--", "cat", "/etc/hostname")
    assert (code, out) == (0, "logme\n"), err


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def test_cli_logs_follow(nats_url: str, bus: Bus, served: dict[str, Any]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "logs",
        "-f",
        "logme",
        "--server",
        nats_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        # As a terminal starts it: a run without one (CI, a background job) may ignore SIGINT, and
        # the ignore is inherited, so Ctrl-C would never reach the command.
        preexec_fn=_sigint_as_in_a_terminal,
    )
    assert proc.stdout is not None
    try:
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip() for _ in range(5)]
        assert lines == [f"line-{i}" for i in range(1, 6)]
        await node_exec(
            bus, served["node"], {"namespace": "default", "pod": "logme", "command": ["touch", "/tmp/go"]}
        )
        assert (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip() == "after-go"
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 20)


async def test_cli_logs_of_a_job(
    nats_url: str, api: Any, bus: Bus, runtime: DockerRuntime, node_name
) -> None:
    node = node_name("job")
    job = await api.create(
        "jobs",
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default"},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": BUSYBOX}]}
                }
            },
        },
    )
    labels = job_labels(job)  # what the Job controller (not running here) would put on its pods
    container = {"name": "pi", "image": BUSYBOX, "command": ["echo", "3.14159"]}
    pod = await api.create(
        "pods",
        {
            **pod_manifest("pi-abcde", node, [container]),
            "metadata": {"name": "pi-abcde", "namespace": "default", "labels": labels},
        },
    )
    sb = await sandbox_for(runtime, pod, node)
    await exited(runtime, await start_attempt(runtime, sb, pod, container, 0))
    sup = Supervisor()
    server = KubeletServer(bus, runtime, node)
    sup.spawn("kubelet-server", server.run)
    try:
        await asyncio.wait_for(server.serving.wait(), 10)
        code, out, err = await jetkube(nats_url, "logs", "job/pi")
        assert (code, out) == (0, "3.14159\n"), err
        code, out, err = await jetkube(nats_url, "logs", "job/nope")
        assert code == 1 and err.strip() == 'Error from server (NotFound): jobs.batch "nope" not found'
    finally:
        await sup.stop()
