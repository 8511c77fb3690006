"""A node container stopped: NotReady after the grace period, its RC pods recreated on the other
nodes and its DaemonSet pod not; started again, it rejoins and its stale containers are removed.

Stopping the node container stops its kubelet only: the pods' containers run on the host's engine
and keep running, as a node's would when its kubelet dies. They are the stale containers the
kubelet must remove when it comes back and finds their pods gone."""

from __future__ import annotations

import pytest

from cli.testbed import Testbed, docker
from tests.testbed.nodeloss import node_lost_and_found

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

SERVICE = "node3"


@pytest.mark.timeout(300)
async def test_node_stopped_and_started(testbed: Testbed) -> None:
    cid = testbed.container_id(SERVICE)
    timings = await node_lost_and_found(
        testbed,
        "testbed-node-stop",
        SERVICE,
        lose=lambda: docker("stop", "-t", "5", cid),
        heal=lambda: docker("start", cid),
    )
    print(f"\n{SERVICE} stopped: {timings}")
