"""Fairness: one user's flood is refused with 429 and Retry-After at its own queue's depth, while
a kubelet's requests (a system flow, with workers reserved for it) are still answered."""

from __future__ import annotations

import asyncio

from bus.auth import api_subject
from bus.codec import decode, encode
from tests.integration.security.conftest import SecureCluster


async def test_a_flood_from_one_user_is_refused_and_nodes_still_served(secure: SecureCluster) -> None:
    kubelet = await secure.client("node-n1")
    await kubelet.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    viewer = await secure.bus_as("viewer")
    request = encode({"resource": "pods", "namespace": "default"})
    flood = [
        asyncio.ensure_future(viewer.nc.request(api_subject("viewer", "list"), request, timeout=60))
        for _ in range(200)
    ]
    # while the flood waits, the node's own request is answered
    node = await kubelet.get("nodes", "n1")
    assert node["metadata"]["name"] == "n1"
    replies = [decode(m.data) for m in await asyncio.gather(*flood)]
    refused = [r["error"] for r in replies if "error" in r]
    assert refused, "no request of the flood was refused"
    assert {e["code"] for e in refused} == {429}
    assert all(e["details"]["retryAfterSeconds"] >= 1 for e in refused)
    assert len(refused) < len(replies)  # the flow's own queue was served
