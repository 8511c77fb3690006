"""Helpers for the networking tests: pods and Services as dicts, exec in a pod, HTTP from the host."""

from __future__ import annotations

import asyncio
from typing import Any

from schemas.errors import NotFound
from tests.waiting import jetkube  # noqa: F401 (the networking tests import it from here)

BUSYBOX = "gcr.io/google_containers/busybox"
Obj = dict[str, Any]


def pod(name: str, command: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"role": name}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "c",
                    "image": BUSYBOX,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", command],
                }
            ],
            **spec,
        },
    }


def httpd_deployment(name: str, replicas: int) -> Obj:
    """busybox httpd on the named port ``http`` (8080) answering its pod's name; Ready while
    /tmp/ready exists (an exec readiness probe every second)."""
    script = "echo $HOSTNAME > /www/index.html; touch /tmp/ready; exec httpd -f -p 8080 -h /www"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [
                        {
                            "name": "web",
                            "image": BUSYBOX,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", "mkdir -p /www; " + script],
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {
                                "exec": {"command": ["test", "-f", "/tmp/ready"]},
                                "periodSeconds": 1,
                                "failureThreshold": 1,
                                # a docker exec takes over the default 1 s under CI load: only a
                                # missing /tmp/ready (the tests' switch) makes the pod unready
                                "timeoutSeconds": 10,
                            },
                        }
                    ],
                },
            },
        },
    }


def service(name: str, selector: dict[str, str], ports: list[Obj], **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": selector, "ports": ports, **spec},
    }


async def get(api: Any, resource: str, name: str, namespace: str = "default") -> Obj | None:
    try:
        return await api.get(resource, name, namespace)
    except NotFound:
        return None


async def container_id(runtime: Any, node: str, pod_name: str, container: str = "c") -> str | None:
    running = [
        s
        for s in await runtime.list(node)
        if s.pod_name == pod_name and s.container_name == container and s.running
    ]
    return running[-1].id if running else None


async def exec_in(
    runtime: Any, node: str, pod_name: str, cmd: list[str], container: str = "c"
) -> tuple[int, str]:
    cid = await container_id(runtime, node, pod_name, container)
    assert cid, f"no running container {container} in pod {pod_name}"
    return await runtime.exec(cid, cmd, timeout=20)


def ready_ips(endpoints: Obj | None) -> set[str]:
    return {a["ip"] for s in (endpoints or {}).get("subsets") or [] for a in s.get("addresses") or []}


async def http_get(host: str, port: int, timeout: float = 5.0) -> str:
    """A plain HTTP/1.0 GET / from this host; the body."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    return data.decode(errors="replace").split("\r\n\r\n", 1)[-1]
