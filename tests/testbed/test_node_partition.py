"""A node cut off from the network (`docker network disconnect`): the same as a stopped node, and
after the heal no RC runs more pods than replicas once converged.

The node's host (``node2-host``: its engine and network namespace, which its kubelet shares) is
disconnected from the compose network: the kubelet keeps running and so do its pods' containers
(on the node's own engine); only its way to NATS and to the other nodes is gone. While it is cut
off, its RC pod is evicted and recreated elsewhere, so the nodes briefly run four replicas; when
the node is back it learns its pod was deleted and kills it, leaving three."""

from __future__ import annotations

import pytest

from cli.testbed import NETWORK, NODE_HOSTS, Testbed, docker
from tests.testbed.nodeloss import node_lost_and_found

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

SERVICE = "node2"


@pytest.mark.timeout(300)
async def test_node_cut_off_and_healed(testbed: Testbed) -> None:
    cid = testbed.host_container(SERVICE)  # the kubelet shares its host's network namespace
    timings = await node_lost_and_found(
        testbed,
        "testbed-node-partition",
        SERVICE,
        lose=lambda: docker("network", "disconnect", NETWORK, cid),
        heal=lambda: docker("network", "connect", "--alias", NODE_HOSTS[SERVICE], NETWORK, cid),
    )
    print(f"\n{SERVICE} cut off: {timings}")
