"""Hole 5: the dashboard cannot be driven by another web page through DNS rebinding.

Every request, reads included, must name a Host the dashboard was started for (its address,
``localhost``, ``127.0.0.1``); a page from ``evil.example`` that rebinds its name to 127.0.0.1
sends ``Host: evil.example`` and is refused. When the dashboard listens beyond loopback, writes
need its token (printed in its URL's fragment) as well."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from actors.dashboard.server import Dashboard
from actors.runtime.supervisor import Supervisor
from bus.events import ensure_stream
from tests.integration.dashboard.test_dashboard_api import rc


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def _start(api: Any, bus: Any, host: str) -> tuple[Dashboard, Supervisor]:
    await ensure_stream(bus)
    sup = Supervisor("test-dashboard")
    dash = Dashboard(api, host=host, port=0)
    await dash.bind()
    dash.start(sup)
    await dash.feed.wait_synced(10)
    return dash, sup


async def test_only_the_dashboards_own_host_names_are_served(
    api: Any, bus: Any, http: aiohttp.ClientSession
) -> None:
    await api.create("replicationcontrollers", rc("web", 1))
    dash, sup = await _start(api, bus, "127.0.0.1")
    try:
        base = f"http://127.0.0.1:{dash.port}"
        for path in ("/", "/api/namespaces", "/static/app.js"):
            async with http.get(base + path, headers={"Host": f"evil.example:{dash.port}"}) as r:
                assert r.status == 403, path
                assert "Host" in await r.text()
        async with http.post(
            base + "/api/scale/replicationcontrollers/default/web",
            json={"replicas": 5},
            headers={"Host": f"evil.example:{dash.port}", "Origin": f"http://evil.example:{dash.port}"},
        ) as r:
            assert r.status == 403
        assert (await api.get("replicationcontrollers", "web", "default"))["spec"]["replicas"] == 1
        # positive controls: its own names, with or without the port
        for host in (f"127.0.0.1:{dash.port}", f"localhost:{dash.port}", "localhost"):
            async with http.get(base + "/api/namespaces", headers={"Host": host}) as r:
                assert r.status == 200, host
        async with http.post(
            base + "/api/scale/replicationcontrollers/default/web", json={"replicas": 2}
        ) as r:
            assert r.status == 200, await r.text()
    finally:
        await sup.stop()


async def test_beyond_loopback_writes_need_the_token(api: Any, bus: Any, http: aiohttp.ClientSession) -> None:
    await api.create("replicationcontrollers", rc("web", 1))
    dash, sup = await _start(api, bus, "0.0.0.0")
    try:
        assert "#token=" in dash.url
        token = URL(dash.url).fragment.removeprefix("token=")
        base = f"http://127.0.0.1:{dash.port}"
        scale = base + "/api/scale/replicationcontrollers/default/web"
        async with http.post(scale, json={"replicas": 4}) as r:
            assert r.status == 401
            assert "token" in await r.text()
        async with http.post(scale, json={"replicas": 4}, headers={"X-Dashboard-Token": "wrong"}) as r:
            assert r.status == 401
        assert (await api.get("replicationcontrollers", "web", "default"))["spec"]["replicas"] == 1
        # reads need no token; writes with it work
        async with http.get(base + "/api/namespaces") as r:
            assert r.status == 200
        async with http.post(scale, json={"replicas": 4}, headers={"X-Dashboard-Token": token}) as r:
            assert r.status == 200, await r.text()
    finally:
        await sup.stop()
