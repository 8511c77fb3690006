"""The dashboard's browser test: a cluster in this process on a real nats-server (tests/conftest.py)
and the real Docker engine (tests/e2e/conftest.py): the control plane, one kubelet and the
dashboard on a free port, started the way ``jetkube up`` starts them; and a headless Chromium
(Debian's ``chromium``) driven over DevTools (browser.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from actors.kubelet.runtime import DockerRuntime
from actors.runtime.supervisor import Supervisor
from bus.connection import Bus
from bus.store import Store
from tests.e2e.dashboard.browser import chromium_path


@dataclass
class Cluster:
    api: Any
    node: str
    url: str  # the dashboard's page


@pytest.fixture
async def cluster(
    bus: Bus, store: Store, runtime: DockerRuntime, node_name: Callable[[str], str], tmp_path: Path
) -> AsyncIterator[Cluster]:
    """Everything under one supervisor; the ``runtime`` fixture removes the node's containers after."""
    if chromium_path() is None:
        pytest.skip("no chromium (apt-get install chromium)")
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.dashboard.server import Dashboard
    from actors.kubelet.process import start_kubelet
    from bus.client import ApiClient

    node = node_name("dash")
    sup = Supervisor("dashboard-e2e")
    try:
        start_control_plane(sup, bus, store, ControlPlaneSettings())
        kubelet = await start_kubelet(
            sup,
            bus,
            node_name=node,
            state_dir=str(tmp_path / "kstate"),
            heartbeat_interval=2,
            resync_period=2,
        )
        assert kubelet, "no Docker engine"
        dash = Dashboard(ApiClient(bus), host="127.0.0.1", port=0)
        url = await dash.bind()
        dash.start(sup)
        yield Cluster(ApiClient(bus), node, url)
    finally:
        await sup.stop()
