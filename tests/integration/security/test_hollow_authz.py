"""The hollow-node fleet's identity (``system:hollow-nodes``) over real NATS connections: hollow
Nodes and the pods bound to them, nothing else."""

from __future__ import annotations

import pytest

from actors.hollow.objects import heartbeat, hollow_node
from bus.auth import HOLLOW
from schemas.errors import Forbidden
from tests.integration.security.conftest import SecureCluster


def pod(name: str, node: str) -> dict:
    spec = {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


async def test_hollow_identity_reaches_only_hollow_nodes_and_their_pods(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    fleet = await secure.client(HOLLOW)
    await fleet.create("nodes", hollow_node("hollow-0", 0))
    await admin.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "real-1"}})
    mine = await admin.create("pods", pod("mine", "hollow-0"), "default")
    theirs = await admin.create("pods", pod("theirs", "real-1"), "default")

    # its Nodes: heartbeat through the api; a real node's: no
    current = await fleet.get("nodes", "hollow-0")
    assert (await fleet.update_status("nodes", heartbeat(current)))["metadata"]["name"] == "hollow-0"
    real = await fleet.get("nodes", "real-1")
    with pytest.raises(Forbidden, match='User "system:hollow-nodes" cannot update resource "nodes/status"'):
        await fleet.update_status("nodes", {**real, "status": {"phase": "Running"}})
    with pytest.raises(Forbidden, match="only create Nodes labelled type=hollow"):
        await fleet.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "sneaky"}})

    # pods: the relay's list and the status of pods on hollow nodes only
    assert [p["metadata"]["name"] for p in (await fleet.pods_on_node("hollow-0"))["items"]] == ["mine"]
    with pytest.raises(Forbidden):
        await fleet.pods_on_node("real-1")
    running = {**mine, "status": {**mine["status"], "phase": "Running"}}
    assert (await fleet.update_status("pods", running))["status"]["phase"] == "Running"
    with pytest.raises(Forbidden, match="only touch pods bound to a hollow node"):
        await fleet.update_status("pods", {**theirs, "status": {**theirs["status"], "phase": "Failed"}})
    with pytest.raises(Forbidden):
        await fleet.list("secrets", "default")
    await fleet.delete("pods", "mine", "default", grace_period_seconds=0)
    # (NATS refuses its raw writes to the state bucket: test_roles.py)
