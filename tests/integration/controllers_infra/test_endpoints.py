"""Service -> Endpoints following pod readiness, against a real nats-server and the api actor."""

from __future__ import annotations

import time
from typing import Any

from actors.endpoints.controller import EndpointsController
from tests.integration.controllers_infra.helpers import (
    eventually,
    gone,
    pod_manifest,
    running,
    set_pod_status,
)

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
    },
}


def ips(endpoints: dict[str, Any], field: str) -> list[str]:
    return sorted(a["ip"] for s in endpoints.get("subsets") or [] for a in s.get(field) or [])


async def test_endpoints_follow_readiness(api: Any) -> None:
    async with running(api, EndpointsController) as ctrl:
        await api.create("services", SERVICE)
        http = [{"name": "http", "containerPort": 8080}]
        await api.create("pods", pod_manifest("web-1", {"app": "web"}, node="n1", ports=http))
        await api.create("pods", pod_manifest("web-2", {"app": "web"}, node="n2", ports=http))
        await api.create("pods", pod_manifest("other", {"app": "db"}, node="n1", ports=http))
        await api.create("pods", pod_manifest("no-ip", {"app": "web"}, node="n1", ports=http))
        await set_pod_status(api, "web-1", ip="10.1.0.1", ready=True)
        await set_pod_status(api, "web-2", ip="10.1.0.2", ready=False)
        await set_pod_status(api, "other", ip="10.1.0.3", ready=True)

        async def settled() -> dict[str, Any]:
            ep = await api.get("endpoints", "web", namespace="default")
            assert ips(ep, "addresses") == ["10.1.0.1"]
            assert ips(ep, "notReadyAddresses") == ["10.1.0.2"]
            return ep

        ep = await eventually(settled)
        [subset] = ep["subsets"]
        assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        ref = subset["addresses"][0]["targetRef"]
        assert (ref["kind"], ref["name"], ref["namespace"]) == ("Pod", "web-1", "default")
        assert ref["uid"]
        assert subset["addresses"][0]["nodeName"] == "n1"

        # A readiness flip reaches the Endpoints within a second.
        started = time.monotonic()
        await set_pod_status(api, "web-2", ip="10.1.0.2", ready=True)

        async def both_ready() -> bool:
            ep = await api.get("endpoints", "web", namespace="default")
            return ips(ep, "addresses") == ["10.1.0.1", "10.1.0.2"]

        await eventually(both_ready, timeout=5)
        assert time.monotonic() - started < 1.0

        # Nothing changes -> no write: the resourceVersion stays.
        before = await api.get("endpoints", "web", namespace="default")
        assert isinstance(ctrl, EndpointsController)
        ctrl.queue.add("default/web")
        await eventually(lambda: _idle(ctrl))
        after = await api.get("endpoints", "web", namespace="default")
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

        # Service deleted -> Endpoints deleted.
        await api.delete("services", "web", namespace="default")
        await eventually(lambda: gone(api, "endpoints", "web", "default"))


async def _idle(ctrl: EndpointsController) -> bool:
    return len(ctrl.queue) == 0 and not ctrl.queue.processing


async def test_named_port_numbers_split_subsets(api: Any) -> None:
    async with running(api, EndpointsController):
        await api.create("services", SERVICE)
        await api.create(
            "pods", pod_manifest("a", {"app": "web"}, ports=[{"name": "http", "containerPort": 8080}])
        )
        await api.create(
            "pods", pod_manifest("b", {"app": "web"}, ports=[{"name": "http", "containerPort": 9090}])
        )
        await set_pod_status(api, "a", ip="10.1.0.1", ready=True)
        await set_pod_status(api, "b", ip="10.1.0.2", ready=True)

        async def split() -> bool:
            ep = await api.get("endpoints", "web", namespace="default")
            ports = sorted(s["ports"][0]["port"] for s in ep.get("subsets") or [])
            return ports == [8080, 9090]

        await eventually(split)
