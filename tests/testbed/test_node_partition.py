"""A node cut off from the network (`docker network disconnect`): the same as a stopped node, and
after the heal no RC runs more pods than replicas once converged.

The node's kubelet keeps running and so do its pods' containers (on the host's engine); only its
way to NATS is gone. While it is cut off, its RC pod is evicted and recreated elsewhere, so the
engine briefly runs four replicas; when the node is back it learns its pod was deleted and kills
it, leaving three."""

from __future__ import annotations

import pytest

from cli.testbed import NETWORK, Testbed, docker
from tests.testbed.nodeloss import node_lost_and_found

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

SERVICE = "node2"


@pytest.mark.timeout(300)
async def test_node_cut_off_and_healed(testbed: Testbed) -> None:
    cid = testbed.container_id(SERVICE)
    timings = await node_lost_and_found(
        testbed,
        "testbed-node-partition",
        SERVICE,
        lose=lambda: docker("network", "disconnect", NETWORK, cid),
        heal=lambda: docker("network", "connect", "--alias", SERVICE, NETWORK, cid),
    )
    print(f"\n{SERVICE} cut off: {timings}")
