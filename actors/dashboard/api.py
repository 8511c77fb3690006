"""The dashboard's JSON API (what the page calls; usable with curl too).

Reads come from the feed's informer caches (no round trip to the api actor per request); writes
go through :class:`bus.client.ApiClient`, as every jetkube client writes, so the api validates,
admits and compare-and-sets them:

=========================================  ===================================================
``GET /api/namespaces``, ``/api/nodes``    tables of rows (views.py): ``{resource, columns, items}``
``GET /api/workloads?namespace=NS``        ``{"tables": [...]}``, one table per workload kind
``GET /api/pods?namespace=NS``             the pods (no or empty ``namespace``: all namespaces)
``GET /api/events?namespace=NS``           the latest Events the feed holds
``GET /api/pods/{ns}/{name}/logs``         ``{"container", "lines"}`` through the pod's kubelet
                                           (``?container=C&tail=N``, default the last 1000 lines)
``POST /api/scale/{resource}/{ns}/{name}`` body ``{"replicas": n}``: a merge patch of
                                           ``spec.replicas`` on the revision read (a Conflict if
                                           the object changed in between)
``DELETE /api/pods/{ns}/{name}``           delete the pod (its controller replaces it)
``GET /api/metrics/history``               the CPU and memory history (actors/metrics/history.py):
                                           ``?kind=node,pod&namespace=NS&since=SECONDS``;
                                           ``{window, interval, now, series: [{kind, key,
                                           points: [[t, cpu_milli, memory_bytes], ...]}]}``
=========================================  ===================================================

Errors are Kubernetes Status objects with the HTTP code of the error (schemas.errors), e.g. a
bad ``replicas`` is 400 ``replicas: Invalid value: ...``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from actors.dashboard.feed import Feed
from actors.dashboard.views import SCALABLE, WORKLOADS, parse_namespace, parse_replicas, table
from schemas.errors import BadRequest, JetkubeError
from schemas.printing.age import now_utc

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
LOG_TIMEOUT = 20.0
DEFAULT_TAIL = 1000


def status_response(err: JetkubeError) -> web.Response:
    return web.json_response(err.to_status(), status=err.code)


class Api:
    def __init__(self, api: Any, feed: Feed, *, sync_timeout: float = 30.0, history: Any = None) -> None:
        self.api = api
        self.history = history
        self.feed = feed
        self.sync_timeout = sync_timeout

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/namespaces", self.namespaces),
            web.get("/api/nodes", self.nodes),
            web.get("/api/workloads", self.workloads),
            web.get("/api/pods", self.pods),
            web.get("/api/events", self.events),
            web.get("/api/metrics/history", self.metrics_history),
            web.get("/api/pods/{namespace}/{name}/logs", self.logs),
            web.post("/api/scale/{resource}/{namespace}/{name}", self.scale),
            web.delete("/api/pods/{namespace}/{name}", self.delete_pod),
        ]

    async def _table(self, resource: str, request: web.Request) -> dict[str, Any]:
        await self.feed.wait_synced(self.sync_timeout)
        namespace = parse_namespace(request.query.get("namespace"))
        return table(resource, self.feed.objects(resource), now_utc(), namespace)

    async def namespaces(self, request: web.Request) -> web.Response:
        return web.json_response(await self._table("namespaces", request))

    async def nodes(self, request: web.Request) -> web.Response:
        return web.json_response(await self._table("nodes", request))

    async def pods(self, request: web.Request) -> web.Response:
        return web.json_response(await self._table("pods", request))

    async def events(self, request: web.Request) -> web.Response:
        return web.json_response(await self._table("events", request))

    async def workloads(self, request: web.Request) -> web.Response:
        tables = [await self._table(r, request) for r in WORKLOADS if r in self.feed.informers]
        return web.json_response({"tables": tables})

    async def metrics_history(self, request: web.Request) -> web.Response:
        import time

        kinds = [k for k in (request.query.get("kind") or "node,pod").split(",") if k]
        since = _int_query(request, "since", 0) or None
        if since is not None and since < 0:
            raise BadRequest(f"since: Invalid value: {since}: must be a positive number of seconds")
        namespace = parse_namespace(request.query.get("namespace"))
        if self.history is None:
            return web.json_response({"window": 0, "interval": 0, "now": time.time(), "series": []})
        try:
            data = self.history.query(now=time.time(), kinds=kinds, namespace=namespace, since=since)
        except ValueError as err:
            raise BadRequest(str(err)) from None
        return web.json_response(data)

    async def logs(self, request: web.Request) -> web.Response:
        from actors.kubelet.server_client import node_logs
        from actors.kubelet.server_select import check_container, logs_precheck

        ns, name = request.match_info["namespace"], request.match_info["name"]
        tail = _int_query(request, "tail", DEFAULT_TAIL)
        pod = await self.api.get("pods", name, ns)
        container = check_container(pod, request.query.get("container") or None)
        problem = logs_precheck(pod, container)
        if problem is not None:
            raise problem
        node = (pod.get("spec") or {}).get("nodeName")
        lines: list[str] = []
        if node:
            meta = pod.get("metadata") or {}
            payload = {
                "namespace": ns,
                "pod": name,
                # a mirror pod's containers carry the static pod's uid (as `jetkube logs` asks)
                "uid": (meta.get("annotations") or {}).get(MIRROR_ANNOTATION) or meta.get("uid"),
                "container": container,
                "tail": tail if tail >= 0 else None,
                "follow": False,
            }
            async with asyncio.timeout(LOG_TIMEOUT):
                await node_logs(self.api.bus, node, payload, lines.extend)
        return web.json_response({"namespace": ns, "pod": name, "container": container, "lines": lines})

    async def scale(self, request: web.Request) -> web.Response:
        resource = request.match_info["resource"]
        ns, name = request.match_info["namespace"], request.match_info["name"]
        if resource not in SCALABLE:
            raise BadRequest(
                f"resource: Unsupported value: {resource!r}: only {', '.join(sorted(SCALABLE))} scale"
            )
        replicas = parse_replicas(await _json_body(request))
        current = await self.api.get(resource, name, ns)
        patch = {
            "metadata": {"resourceVersion": current["metadata"].get("resourceVersion")},
            "spec": {"replicas": replicas},
        }
        updated = await self.api.patch(resource, name, patch, "merge", ns, field_manager="jetkube-dashboard")
        return web.json_response(
            {"resource": resource, "namespace": ns, "name": name, "replicas": updated["spec"].get("replicas")}
        )

    async def delete_pod(self, request: web.Request) -> web.Response:
        ns, name = request.match_info["namespace"], request.match_info["name"]
        await self.api.delete("pods", name, ns)
        return web.json_response({"namespace": ns, "name": name, "deleted": True})


def _int_query(request: web.Request, field: str, default: int) -> int:
    text = request.query.get(field)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{field}: Invalid value: {text!r}: must be a whole number") from None


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise BadRequest(f"Content-Type: Unsupported value: {request.content_type!r}: send application/json")
    try:
        return json.loads(await request.text() or "null")
    except json.JSONDecodeError as err:
        raise BadRequest(f"body: Invalid value: not JSON: {err}") from None
