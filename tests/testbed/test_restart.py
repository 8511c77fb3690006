"""The whole test bed restarted: every object is back.

Objects of several kinds are written; then every container of the bed is stopped (NATS servers,
control planes, kubelets; the pods' containers stay on the engine) and the bed is started again.
Every object comes back with its uid and its content, the three nodes turn Ready, and the
workloads converge: the RC and the Deployment at their replica counts, and no more.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bus.client import ApiClient
from cli.testbed import NODES, Testbed
from tests.testbed.helpers import bed_api, hold, pods, poll, ready_nodes, running, wait_bed_whole

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

NAMESPACE = "testbed-restart"


def template(app: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}],
        },
    }


OBJECTS: list[tuple[str, dict[str, Any]]] = [
    (
        "configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}},
    ),
    (
        "secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tok"}, "data": {"t": "c2VjcmV0"}},
    ),
    (
        "services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "front"},
            "spec": {"selector": {"app": "kept-rc"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    ),
    (
        "replicationcontrollers",
        {
            "apiVersion": "v1",
            "kind": "ReplicationController",
            "metadata": {"name": "kept-rc"},
            "spec": {"replicas": 2, "selector": {"app": "kept-rc"}, "template": template("kept-rc")},
        },
    ),
    (
        "deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "kept-deploy"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "kept-deploy"}},
                "template": template("kept-deploy"),
            },
        },
    ),
]
WANT = {"kept-rc": 2, "kept-deploy": 2}


async def snapshot(api: ApiClient) -> dict[tuple[str, str], dict[str, Any]]:
    """(resource, name) -> uid and content of everything in the namespace, plus the cluster's own."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in ("configmaps", "secrets", "services", "replicationcontrollers", "deployments"):
        for o in (await api.list(resource, namespace=NAMESPACE))["items"]:
            content = {k: v for k, v in o.items() if k in ("spec", "data")}
            out[(resource, o["metadata"]["name"])] = {"uid": o["metadata"]["uid"], **content}
    for resource in ("namespaces", "nodes"):
        for o in (await api.list(resource))["items"]:
            out[(resource, o["metadata"]["name"])] = {"uid": o["metadata"]["uid"]}
    return out


async def counts(api: ApiClient) -> dict[str, list[dict[str, Any]]]:
    return {app: await pods(api, NAMESPACE, {"app": app}) for app in WANT}


@pytest.mark.timeout(300)
async def test_whole_bed_restarted(testbed: Testbed) -> None:
    async with bed_api() as api:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        await api.create("namespaces", ns)
        for resource, obj in OBJECTS:
            await api.create(resource, obj, namespace=NAMESPACE)

        async def converged() -> bool:
            now = await counts(api)
            return all(len(now[a]) == n and all(running(p) for p in now[a]) for a, n in WANT.items())

        await poll(converged, 90, f"workloads Running at {WANT}")
        before = await snapshot(api)

    t0 = time.monotonic()
    await asyncio.to_thread(testbed.compose, "stop", "-t", "5")
    stopped = time.monotonic() - t0
    await asyncio.to_thread(testbed.up, build=False)
    await wait_bed_whole(testbed, timeout=150)
    back = time.monotonic() - t0

    async with bed_api() as api:
        after = await snapshot(api)
        lost = sorted(set(before) - set(after))
        assert not lost, f"objects lost in the restart: {lost}"
        changed = sorted(k for k in before if before[k] != after[k])
        assert not changed, f"objects changed by the restart: {changed}"
        assert await ready_nodes(api) == set(NODES.values())
        await poll(converged, 90, f"workloads back at {WANT}")

        async def never_over() -> bool:
            now = await counts(api)
            return all(len(now[a]) <= n for a, n in WANT.items())

        await hold(never_over, 5, "no more pods than replicas after the restart")
        print(f"\nbed stopped in {stopped:.1f}s, whole again {back:.1f}s later; {len(before)} objects back")
        await api.delete("namespaces", NAMESPACE)

        async def gone() -> bool:
            return NAMESPACE not in {n["metadata"]["name"] for n in (await api.list("namespaces"))["items"]}

        await poll(gone, 60, f"namespace {NAMESPACE} deleted")
