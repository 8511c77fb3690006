"""A kubelet's identity (``system:node:<name>``) reaches only its own node's objects: its Node, the
pods bound to it, and the Secrets and ConfigMaps those pods use, over real NATS connections."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from schemas.errors import Forbidden
from tests.integration.security.conftest import SecureCluster, eventually


def pod(name: str, node: str, *, secret: str | None = None, configmap: str | None = None) -> dict:
    spec: dict = {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}
    if secret:
        spec["volumes"] = [{"name": "s", "secret": {"secretName": secret}}]
    if configmap:
        spec["containers"][0]["env"] = [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": configmap, "key": "x"}}}
        ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


async def test_a_kubelet_touches_only_its_own_node_and_pods(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    kubelet = await secure.client("node-n1")
    await kubelet.create("nodes", node("n1"))  # a kubelet registers its own Node
    await admin.create("nodes", node("n2.example"))
    mine = await admin.create("pods", pod("mine", "n1"), "default")
    theirs = await admin.create("pods", pod("theirs", "n2.example"), "default")

    # its own Node: yes; another's: read only
    await kubelet.patch("nodes", "n1", {"metadata": {"labels": {"zone": "a"}}})
    assert (await kubelet.get("nodes", "n2.example"))["metadata"]["name"] == "n2.example"
    with pytest.raises(Forbidden, match='User "system:node:n1" cannot patch resource "nodes"'):
        await kubelet.patch("nodes", "n2.example", {"metadata": {"labels": {"zone": "evil"}}})
    with pytest.raises(Forbidden):
        await kubelet.create("nodes", node("n3"))

    # pods: status of its own pods only
    status = {**mine, "status": {**mine["status"], "phase": "Running"}}
    assert (await kubelet.update_status("pods", status))["status"]["phase"] == "Running"
    with pytest.raises(Forbidden, match="may only touch pods bound to it"):
        await kubelet.update_status("pods", {**theirs, "status": {**theirs["status"], "phase": "Failed"}})
    with pytest.raises(Forbidden, match="may only touch pods bound to it"):
        await kubelet.delete("pods", "theirs", "default", grace_period_seconds=0)
    with pytest.raises(Forbidden, match="may only write the status"):
        await kubelet.patch("pods", "mine", {"metadata": {"labels": {"x": "y"}}}, namespace="default")
    with pytest.raises(Forbidden):
        await kubelet.list("pods", "default")
    with pytest.raises(Forbidden, match=r'pods of node "n2\.example"'):
        await kubelet.pods_on_node("n2.example")
    assert [p["metadata"]["name"] for p in (await kubelet.pods_on_node("n1"))["items"]] == ["mine"]
    assert (await admin.get("pods", "theirs", "default"))["status"]["phase"] == "Pending"


async def test_a_kubelet_reads_only_the_secrets_and_configmaps_its_pods_use(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    for name in ("used", "other"):
        await admin.create(
            "secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"k": name}},
        )
        await admin.create(
            "configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"x": name}},
        )
    await admin.create("pods", pod("user", "n1", secret="used", configmap="used"), "default")
    await admin.create("pods", pod("elsewhere", "n2.example", secret="other", configmap="other"), "default")
    kubelet = await secure.client("node-n1")

    async def sees_used() -> bool:
        try:
            return (await kubelet.get("secrets", "used", "default"))["data"]["k"] == "dXNlZA=="
        except Forbidden:
            return False  # the relay has not indexed the pod yet

    await eventually(sees_used)
    assert (await kubelet.get("configmaps", "used", "default"))["data"] == {"x": "used"}
    for kind in ("secrets", "configmaps"):
        with pytest.raises(Forbidden, match="no pod bound to node 'n1' refers to it"):
            await kubelet.get(kind, "other", "default")
    with pytest.raises(Forbidden):
        await kubelet.list("secrets", "default")


async def test_a_kubelet_cannot_follow_another_nodes_pods(secure: SecureCluster) -> None:
    """NATS refuses the subscription to another node's relay subject: nothing arrives."""
    admin = await secure.client("admin")
    kubelet = await secure.bus_as("node-n1")
    got: list[bytes] = []

    async def on_msg(msg) -> None:  # type: ignore[no-untyped-def]
        got.append(msg.data)

    sub = await kubelet.nc.subscribe("jetkube.nodepods.n2.example", cb=on_msg)
    own = await kubelet.nc.subscribe("jetkube.nodepods.n1", cb=on_msg)
    await kubelet.nc.flush()
    await admin.create("pods", pod("spied", "n2.example"), "default")
    await admin.create("pods", pod("own", "n1"), "default")

    async def own_arrived() -> bool:
        return len(got) >= 1

    await eventually(own_arrived)
    await asyncio.sleep(0)
    assert all(b"spied" not in data for data in got)
    for s in (sub, own):
        with contextlib.suppress(Exception):
            await s.unsubscribe()
