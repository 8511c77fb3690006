"""The ingress proxy in a real cluster: Docker pods behind Services, reached through Ingress rules
by host and path (Exact, Prefix by path elements, wildcard hosts), round-robin across pods, 404 for
no rule, 503 for a Service without ready endpoints, X-Forwarded-* headers, the Ingress's status and
``jetkube get ingress``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from bus.connection import Bus
from bus.embedded import free_port
from bus.store import Store
from tests.e2e.ingress.cluster import httpd_pod, ready_endpoints, service, small_cluster
from tests.e2e.kubelet_services.helpers import jetkube
from tests.waiting import wait_for

MAIN = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "main", "namespace": "default"},
    "spec": {
        "rules": [
            {
                "host": "a.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"number": 80}}},
                        },
                        {
                            "path": "/api",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "api", "port": {"name": "http"}}},
                        },
                        {
                            "path": "/only/",
                            "pathType": "Exact",
                            "backend": {"service": {"name": "api", "port": {"name": "http"}}},
                        },
                        {
                            "path": "/down",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "empty", "port": {"number": 80}}},
                        },
                    ]
                },
            }
        ]
    },
}
# an old group version, converted by the api to networking.k8s.io/v1
WILD = {
    "apiVersion": "extensions/v1beta1",
    "kind": "Ingress",
    "metadata": {"name": "wild", "namespace": "default"},
    "spec": {
        "rules": [
            {
                "host": "*.wild.test",
                "http": {"paths": [{"path": "/", "backend": {"serviceName": "web", "servicePort": 80}}]},
            }
        ]
    },
}


async def test_ingress_routes_by_host_and_path(
    bus: Bus, store: Store, runtime: Any, node_name, tmp_path: Path, nats_url: str
) -> None:
    node = node_name("ing")
    port = free_port()
    async with small_cluster(bus, store, node, tmp_path / "kubelet", ingress_port=port) as api:
        for pod in (
            httpd_pod("web-1", node, {"app": "web"}, pages=("/apix",)),
            httpd_pod("web-2", node, {"app": "web"}, pages=("/apix",)),
            httpd_pod("api-1", node, {"app": "api"}, port=8080, pages=("/api", "/only")),
        ):
            await api.create("pods", pod)
        await api.create("services", service("web", {"app": "web"}, 80, 80))
        await api.create("services", service("api", {"app": "api"}, 8080, "http", port_name="http"))
        await api.create("services", service("empty", {"app": "nothing"}, 80, 80))
        await api.create("ingresses", MAIN)
        stored = await api.create("ingresses", WILD)
        assert stored["spec"]["rules"][0]["http"]["paths"][0]["backend"] == {
            "service": {"name": "web", "port": {"number": 80}}
        }
        await wait_for(lambda: ready_endpoints(api, "web", 2), 60, what="web's two endpoints")
        await wait_for(lambda: ready_endpoints(api, "api", 1), 60, what="api's endpoint")

        async with aiohttp.ClientSession() as http:

            async def fetch(host: str, path: str) -> tuple[int, str]:
                async with http.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host}) as resp:
                    return resp.status, (await resp.text()).strip()

            async def proxy_up() -> bool:
                try:
                    return (await fetch("a.example.com", "/api/"))[0] == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(proxy_up, 30, what="the ingress proxy to answer")

            async def both_pods_answer() -> bool:
                # Ready comes before busybox httpd listens (no readiness probe): until both
                # listen, a request may get the proxy's 502 for the other one
                seen = {(await fetch("a.example.com", "/"))[1] for _ in range(4)}
                return seen == {"web-1", "web-2"}

            await wait_for(both_pods_answer, 30, what="round-robin over both ready pods")
            assert await fetch("a.example.com", "/api/") == (200, "api-1")  # Prefix /api, named port
            assert await fetch("a.example.com", "/only/") == (200, "api-1")  # Exact beats Prefix /
            assert (await fetch("a.example.com", "/apix/"))[1] in (
                "web-1",
                "web-2",
            )  # /api is no prefix of /apix
            assert (await fetch("b.wild.test", "/"))[1] in ("web-1", "web-2")  # wildcard host, v1beta1
            status, body = await fetch("nothing.test", "/")
            assert status == 404 and "no ingress rule" in body
            status, body = await fetch("a.example.com", "/down/x")
            assert status == 503 and "no ready endpoints" in body
            status, body = await fetch("a.example.com", "/cgi-bin/env")
            assert status == 200 and "host=a.example.com" in body and "xff=127.0.0.1" in body
            assert "xfh=a.example.com" in body

        async def status_written() -> bool:
            ing = await api.get("ingresses", "main", "default")
            entries = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            return entries == [{"ip": "127.0.0.1", "ports": [{"port": port, "protocol": "TCP"}]}]

        await wait_for(status_written, 20, what="the ingress status")
        code, out, err = await jetkube(nats_url, "get", "ingress")
        assert code == 0, err
        lines = [line.split() for line in out.splitlines()]
        assert lines[0] == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
        assert lines[1][:5] == ["main", "<none>", "a.example.com", "127.0.0.1", str(port)]
