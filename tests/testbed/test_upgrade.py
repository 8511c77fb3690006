"""Upgrading jetkube itself on the test bed: control planes one at a time, then kubelets one at a time.

The bed starts on build A (``jetkube/jetkube:testbed``). A Deployment's pods run on the nodes.
Then each jetkube container is replaced by build B (``jetkube/jetkube:next``, the same tree with
``JETKUBE_BUILD=next``, from ``images/build.py --tag next``) with ``docker-compose up -d --no-deps
<service>`` and ``JETKUBE_TAG=next``, as an operator rolls a new version out: controlplane1,
controlplane2, node1, node2, node3. After each replacement the new process answers health with
build B, the api answers, and the pods keep running in the very same containers (a restarted
kubelet adopts what runs; nothing is recreated). At the end every process reports build B.

The bed is left on build B (this module runs last; the session's teardown removes the bed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from actors.health.agent import process_key
from actors.health.query import gather
from actors.runtime.supervisor import guarded_task
from bus.client import ApiClient
from cli.testbed import CONTROLPLANES, NODES, Testbed
from schemas.errors import AlreadyExists, JetkubeError, NotFound
from tests.testbed.helpers import bed_api, engine_containers, poll

NS = "upgrade"
BUILD_B = "next"
REPLICAS = 3

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "sleeper", "namespace": NS},
    "spec": {
        "replicas": REPLICAS,
        "selector": {"matchLabels": {"app": "sleeper"}},
        "template": {
            "metadata": {"labels": {"app": "sleeper"}},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}],
            },
        },
    },
}


def process_id(service: str) -> str:
    return service if service in CONTROLPLANES else process_key(f"kubelet-{NODES[service]}")


def pod_containers() -> dict[str, set[str]]:
    """node -> ids of the running containers of this test's pods (infra and app)."""
    return {
        node: {c["id"] for c in engine_containers(node) if c["namespace"] == NS and c["running"]}
        for node in NODES.values()
    }


async def running_pods(api: ApiClient) -> dict[str, str] | None:
    """pod name -> uid when all REPLICAS pods are Running (else None)."""
    pods = (await api.list("pods", NS, label_selector="app=sleeper"))["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    if len(live) != REPLICAS or any((p.get("status") or {}).get("phase") != "Running" for p in live):
        return None
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in live}


async def api_answers(api: ApiClient, misses: list[str], stop: asyncio.Event) -> int:
    """Ask the api every 0.2 s until ``stop``; the number of answers (errors go to ``misses``)."""
    answers = 0
    while not stop.is_set():
        try:
            await api.get("deployments", "sleeper", NS)
            answers += 1
        except JetkubeError as err:
            misses.append(err.cli_line())
        await asyncio.sleep(0.2)
    return answers


async def test_rolling_upgrade_to_a_new_build_keeps_pods_in_their_containers(
    testbed: Testbed, monkeypatch: pytest.MonkeyPatch
) -> None:
    from images.build import build_jetkube_tag

    # build B: the image the bed runs plus one ENV layer (seconds; the tree is not rebuilt)
    await asyncio.to_thread(build_jetkube_tag, BUILD_B, ensure_base=False)
    services = [*CONTROLPLANES, *NODES]
    async with bed_api() as api:
        with contextlib.suppress(AlreadyExists):
            await api.create("namespaces", NAMESPACE)
        await api.create("deployments", DEPLOYMENT, NS)
        pods = await poll(lambda: running_pods(api), 90, "3 Running pods of the deployment")
        containers = await asyncio.to_thread(pod_containers)
        assert sum(len(ids) for ids in containers.values()) == 2 * REPLICAS  # an infra + an app each

        before = await gather(api.bus, timeout=3, expect={process_id(s) for s in services})
        assert {process_id(s) for s in services} <= before.keys(), sorted(before)
        assert all(before[process_id(s)]["build"] != BUILD_B for s in services)

        monkeypatch.setenv("JETKUBE_TAG", BUILD_B)
        misses: list[str] = []
        for service in services:
            t0 = time.monotonic()
            stop = asyncio.Event()
            prober = guarded_task(f"probe-api-{service}", api_answers(api, misses, stop), log_errors=False)
            await asyncio.to_thread(testbed.compose, "up", "-d", "--no-deps", service)
            if service in NODES:
                await asyncio.to_thread(testbed.attach_nodes_to_bridge)
            pid = process_id(service)

            async def upgraded(pid: str = pid) -> dict[str, Any] | None:
                live = await gather(api.bus, timeout=1.0, expect={pid})
                report = live.get(pid)
                return report if report and report["build"] == BUILD_B and report["healthy"] else None

            await poll(upgraded, 90, f"{service} answering health on build {BUILD_B}")
            stop.set()
            answered = await prober
            assert answered > 0, f"the api never answered while {service} was replaced"
            assert await poll(lambda: running_pods(api), 60, "the pods Running") == pods
            now = await asyncio.to_thread(pod_containers)
            assert now == containers, f"containers changed when {service} was replaced"
            print(f"{service}: on build {BUILD_B} in {time.monotonic() - t0:.1f}s")
        print(f"api requests that failed during the roll: {len(misses)} {misses[:3]}")

        after = await gather(api.bus, timeout=3, expect={process_id(s) for s in services})
        assert {after[process_id(s)]["build"] for s in services} == {BUILD_B}
        assert (await api.get("deployments", "sleeper", NS))["status"].get("availableReplicas") == REPLICAS

        await api.delete("namespaces", NS)

        async def gone() -> bool:
            try:
                await api.get("namespaces", NS)
            except NotFound:
                return True
            return False

        await poll(gone, 60, f"namespace {NS} removed")
