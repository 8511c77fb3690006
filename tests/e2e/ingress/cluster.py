"""A small real cluster in the test's process, for the networking tests: the api, the endpoints
controller (and optionally the ingress proxy) on the test's nats-server, and one kubelet on the
local Docker engine; plus busybox httpd pods that say which pod answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from actors.controlplane import ControlPlaneSettings, start_control_plane
from actors.runtime.supervisor import Supervisor
from bus.client import ApiClient
from bus.connection import Bus
from bus.store import Store

BUSYBOX = "gcr.io/google_containers/busybox"


@asynccontextmanager
async def small_cluster(
    bus: Bus, store: Store, node: str, state_dir: Path, *, ingress_port: int = 0
) -> AsyncIterator[ApiClient]:
    from actors.kubelet.process import start_kubelet

    sup = Supervisor("test-cluster")
    settings = ControlPlaneSettings(
        controllers=("endpoints",), ingress_port=ingress_port, ingress_host="127.0.0.1"
    )
    api_actor = start_control_plane(sup, bus, store, settings)
    try:
        await asyncio.wait_for(api_actor.ready(), 20)
        kubelet = await start_kubelet(
            sup, bus, node_name=node, state_dir=str(state_dir), heartbeat_interval=2, resync_period=2
        )
        assert kubelet, "no Docker engine"
        yield ApiClient(bus)
    finally:
        await sup.stop()


def httpd_pod(
    name: str, node: str, labels: dict[str, str], *, port: int = 80, pages: tuple[str, ...] = ()
) -> dict:
    """busybox httpd on ``port`` (a container port named ``http``); ``/`` and every path in
    ``pages`` answer the pod's name; ``/cgi-bin/env`` echoes the request's Host and X-Forwarded-*."""
    script = [
        "mkdir -p /www/cgi-bin",
        f"echo {name} > /www/index.html",
        *(f"mkdir -p /www{p} && echo {name} > /www{p}/index.html" for p in pages),
        "printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\n"
        f"echo pod={name} host=$HTTP_HOST xff=$HTTP_X_FORWARDED_FOR xfh=$HTTP_X_FORWARDED_HOST\\n'"
        " > /www/cgi-bin/env",
        "chmod +x /www/cgi-bin/env",
        "seq 1 200000 > /www/big",
        f"exec httpd -f -p {port} -h /www",
    ]
    return busybox_pod(name, node, labels, script, [{"name": "http", "containerPort": port}])


def busybox_pod(
    name: str, node: str, labels: dict[str, str], script: list[str], ports: list[dict[str, Any]]
) -> dict:
    """A pod in ``default`` on ``node`` whose one busybox container (``httpd``) runs the shell
    steps of ``script`` one after the other and declares ``ports``."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {
            "nodeName": node,
            "containers": [
                {
                    "name": "httpd",
                    "image": BUSYBOX,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", " && ".join(script)],
                    "ports": ports,
                }
            ],
        },
    }


def service(name: str, selector: dict[str, str], port: int, target: int | str, port_name: str = "") -> dict:
    p: dict[str, Any] = {"port": port, "targetPort": target}
    if port_name:
        p["name"] = port_name
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": selector, "ports": [p]},
    }


async def ready_endpoints(api: ApiClient, name: str, count: int) -> bool:
    try:
        ep = await api.get("endpoints", name, "default")
    except Exception:
        return False
    return sum(len(s.get("addresses") or []) for s in ep.get("subsets") or []) >= count
