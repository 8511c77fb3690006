"""The dashboard's JSON API and its live stream against a real nats-server and the api actor,
read with an HTTP client as the page reads them (no browser: tests/e2e/dashboard has that)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from actors.dashboard.server import Dashboard
from actors.runtime.supervisor import Supervisor
from bus.events import EventRecorder, ensure_stream


def rc(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"app": name},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "solo"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


@pytest.fixture
async def dashboard(api: Any, bus: Any) -> AsyncIterator[Dashboard]:
    await ensure_stream(bus)
    sup = Supervisor("test-dashboard")
    dash = Dashboard(api, host="127.0.0.1", port=0)
    await dash.bind()
    dash.start(sup)
    await dash.feed.wait_synced(10)
    try:
        yield dash
    finally:
        await sup.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


class Sse:
    """Reads ``event:``/``data:`` messages off an open /api/watch response."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp
        self.seen: list[dict[str, Any]] = []  # every change read so far

    async def next(self, timeout: float = 10.0) -> tuple[str, Any]:
        event, data = "", []
        async with asyncio.timeout(timeout):
            while True:
                line = (await self.resp.content.readline()).decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and event:
                    return event, json.loads("\n".join(data))

    async def until(self, what: str, cond: Any, timeout: float = 10.0) -> dict[str, Any]:
        """The first change (of any ``changes`` message) for which ``cond(change)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            event, data = await self.next(left)
            if event == "changes":
                self.seen.extend(data)
                for change in data:
                    if cond(change):
                        return change


async def test_the_watch_stream_opens_with_a_snapshot_then_follows_every_change(
    dashboard: Dashboard, http: aiohttp.ClientSession, api: Any, bus: Any
) -> None:
    await api.create("replicationcontrollers", rc("web", 2))
    async with http.get(dashboard.url + "api/watch?namespace=default") as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        sse = Sse(resp)
        event, snap = await sse.next()
        assert event == "snapshot"
        assert {"default", "kube-system"} <= set(snap["namespaces"])
        rcs = snap["tables"]["replicationcontrollers"]["items"]
        assert [(r["name"], r["replicas"]) for r in rcs] == [("web", 2)]

        # a pod created by anyone shows up, without the page asking again
        await api.create("pods", pod("solo"))
        change = await sse.until("pod solo", lambda c: c["key"] == "default/solo" and c["type"] == "upsert")
        assert change["row"]["status"] == "Pending" and change["row"]["cells"][0] == "solo"

        # a new namespace reaches every page (for its namespace selector)
        await api.create(
            "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
        )
        await sse.until("namespace team-a", lambda c: c["resource"] == "namespaces" and c["key"] == "team-a")

        # a pod in another namespace is not sent to a page that shows `default`
        await api.create(
            "pods", {**pod("elsewhere"), "metadata": {"name": "elsewhere", "namespace": "kube-system"}}
        )

        # scale through the dashboard: the store changes, and the stream says so
        async with http.post(
            dashboard.url + "api/scale/replicationcontrollers/default/web", json={"replicas": 3}
        ) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["replicas"] == 3
        scaled = await api.get("replicationcontrollers", "web", "default")
        assert scaled["spec"]["replicas"] == 3
        owners = {e["manager"]: e["fieldsV1"] for e in scaled["metadata"]["managedFields"]}
        assert owners["jetkube-dashboard"] == {"f:spec": {"f:replicas": {}}}  # its own field manager
        change = await sse.until(
            "web at 3", lambda c: c["key"] == "default/web" and c["row"]["replicas"] == 3
        )
        assert change["resource"] == "replicationcontrollers"

        # delete through the dashboard: the pod leaves the store and the page
        async with http.delete(dashboard.url + "api/pods/default/solo") as r:
            assert r.status == 200, await r.text()
        await sse.until("solo deleted", lambda c: c["key"] == "default/solo" and c["type"] == "delete")

        # Events arrive live too (they live on their own stream, not in the state bucket)
        obj = await api.get("replicationcontrollers", "web", "default")
        await EventRecorder(bus, "test").record(obj, "Normal", "DashboardCheck", "hello from the test")
        change = await sse.until("the event", lambda c: c["resource"] == "events")
        assert change["row"]["cells"][1:4] == ["Normal", "DashboardCheck", "replicationcontroller/web"]
        assert not [c for c in sse.seen if c["key"].startswith("kube-system/")], "another namespace's change"


async def test_reads_come_from_the_caches(
    dashboard: Dashboard, http: aiohttp.ClientSession, api: Any
) -> None:
    await api.create("replicationcontrollers", rc("web", 1))
    await api.create("pods", pod("solo"))
    base = dashboard.url + "api/"

    async def get(path: str) -> Any:
        async with http.get(base + path) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    deadline = time.monotonic() + 10
    while not (await get("pods?namespace=default"))["items"]:
        assert time.monotonic() < deadline, "the pod never reached the dashboard"
        await asyncio.sleep(0.05)
    pods = await get("pods?namespace=default")
    assert pods["columns"] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert [p["name"] for p in pods["items"]] == ["solo"]
    assert (await get("pods?namespace=kube-system"))["items"] == []
    names = [n["name"] for n in (await get("namespaces"))["items"]]
    assert {"default", "kube-public", "kube-system"} <= set(names)
    workloads = {t["resource"]: t for t in (await get("workloads?namespace=default"))["tables"]}
    assert [r["name"] for r in workloads["replicationcontrollers"]["items"]] == ["web"]
    assert (await get("nodes"))["items"] == []
    page = await http.get(dashboard.url)
    assert page.status == 200 and 'data-testid="tab-pods"' in await page.text()
    script = await http.get(dashboard.url + "static/app.js")
    assert script.status == 200 and "EventSource" in await script.text()


async def test_bad_requests_name_the_problem_and_change_nothing(
    dashboard: Dashboard, http: aiohttp.ClientSession, api: Any
) -> None:
    await api.create("replicationcontrollers", rc("web", 2))
    url = dashboard.url + "api/scale/replicationcontrollers/default/web"
    cases = [
        (
            http.post(url, json={"replicas": -2}),
            400,
            "replicas: Invalid value: -2: must be greater than or equal to 0",
        ),
        (
            http.post(url, json={"replicas": "many"}),
            400,
            "replicas: Invalid value: 'many': must be a whole number",
        ),
        (http.post(url, data="replicas=5"), 400, "Content-Type: Unsupported value"),
        (
            http.post(url, json={"replicas": 5}, headers={"Origin": "http://evil.example"}),
            403,
            "Origin: Forbidden",
        ),
        (
            http.post(dashboard.url + "api/scale/pods/default/web", json={"replicas": 1}),
            400,
            "resource: Unsupported",
        ),
        (
            http.post(dashboard.url + "api/scale/replicationcontrollers/default/nope", json={"replicas": 1}),
            404,
            "nope",
        ),
        (http.delete(dashboard.url + "api/pods/default/nope"), 404, "nope"),
        (http.get(dashboard.url + "api/pods/default/nope/logs"), 404, "nope"),
    ]
    for request, code, message in cases:
        async with request as r:
            body = await r.json()
            assert (r.status, body["kind"], body["code"]) == (code, "Status", code), body
            assert message in body["message"], body
    assert (await api.get("replicationcontrollers", "web", "default"))["spec"]["replicas"] == 2


async def test_a_port_in_use_is_one_clear_error(dashboard: Dashboard, api: Any) -> None:
    from schemas.errors import ServiceUnavailable

    other = Dashboard(api, host="127.0.0.1", port=dashboard.port)
    with pytest.raises(ServiceUnavailable, match=rf"cannot listen on 127.0.0.1:{dashboard.port}"):
        await other.bind()
