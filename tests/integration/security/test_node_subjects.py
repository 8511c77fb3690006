"""Hole 3: node subjects are unambiguous for every legal node name, and a kubelet's server checks
who is asking. Node ``n2`` could once publish on ``jetkube.node.n2.example.exec``, the subject of
node ``n2.example``, and so exec, read logs and port-forward there."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from actors.kubelet.server import KubeletServer, node_subject
from actors.runtime.supervisor import guarded_task
from bus.auth import CONTROLPLANE
from bus.connection import Bus
from bus.rpc import request
from schemas.errors import Forbidden, JetkubeError, ServiceUnavailable
from tests.integration.security.conftest import SecureCluster


@contextlib.asynccontextmanager
async def kubelet_server(bus: Bus, node: str) -> AsyncIterator[KubeletServer]:
    """The server alone (no runtime: ``stats`` without a collector answers ServiceUnavailable,
    which proves the request reached it)."""
    server = KubeletServer(bus, None, node)  # type: ignore[arg-type]
    task = guarded_task(f"test-kubelet-server-{node}", server.run())
    try:
        await asyncio.wait_for(server.serving.wait(), 10)
        yield server
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_node_cannot_reach_a_dotted_neighbours_server(secure: SecureCluster) -> None:
    target = await secure.bus_as("node-n2_example")
    async with kubelet_server(target, "n2.example"):
        # positive control: an admin reaches the server of n2.example
        admin = await secure.bus_as("admin")
        with pytest.raises(ServiceUnavailable, match="does not collect stats"):
            await request(admin, node_subject("n2.example", "stats"), {}, timeout=5)

        # node n2: neither the old dotted subject nor the new one of n2.example reaches it
        n2 = await secure.bus_as("node-n2")
        for subject in ("jetkube.node.n2.example.stats", node_subject("n2.example", "stats")):
            with pytest.raises(JetkubeError) as err:
                await request(n2, subject, {}, timeout=2)
            assert "does not collect stats" not in str(err.value), subject

        # the server checks who asks: a request whose replies go to another node is refused,
        # even when NATS let it through (here the control plane's connection, with n2's inbox)
        spoof = await Bus.connect(
            secure.url,
            user=CONTROLPLANE,
            password=secure.creds.users[CONTROLPLANE],
            name="spoof",
            inbox_prefix="_INBOX.node-n2",
        )
        secure.buses.append(spoof)
        with pytest.raises(Forbidden, match="answers only the control plane and admins"):
            await request(spoof, node_subject("n2.example", "stats"), {}, timeout=5)
        # and the node itself may not drive its own server's exec through NATS either
        with pytest.raises(Forbidden):
            await request(target, node_subject("n2.example", "stats"), {}, timeout=5)
