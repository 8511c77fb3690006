"""A DaemonSet follows nodes as they join, change and leave."""

from __future__ import annotations

from typing import Any

from actors.daemonset.controller import DaemonSetController
from tests.integration.controllers.helpers import eventually, fake_kubelet, pods_of, running

DS = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "agent", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {
                "nodeSelector": {"role": "worker"},
                "containers": [{"name": "agent", "image": "busybox"}],
            },
        },
    },
}


def node(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": {}}


async def test_daemonset_follows_nodes(api: Any) -> None:
    await api.create("nodes", node("n1", {"role": "worker"}))
    await api.create("nodes", node("n2", {"role": "db"}))
    async with running(api, DaemonSetController), fake_kubelet(api):
        ds = await api.create("daemonsets", DS)
        uid = ds["metadata"]["uid"]

        async def on_nodes(expected: set[str]) -> bool:
            pods = await pods_of(api, uid)
            assert {p["spec"]["nodeName"] for p in pods} == expected
            assert len(pods) == len(expected)
            return True

        await eventually(lambda: on_nodes({"n1"}))

        # a node joins, and a cordoned one still gets its pod
        n3 = node("n3", {"role": "worker"})
        n3["spec"]["unschedulable"] = True
        await api.create("nodes", n3)
        await eventually(lambda: on_nodes({"n1", "n3"}))

        # n2 starts matching, n1 stops matching
        n2 = await api.get("nodes", "n2")
        n2["metadata"]["labels"] = {"role": "worker"}
        await api.update("nodes", n2)
        n1 = await api.get("nodes", "n1")
        n1["metadata"]["labels"] = {"role": "db"}
        await api.update("nodes", n1)
        await eventually(lambda: on_nodes({"n2", "n3"}))

        # a node leaves
        await api.delete("nodes", "n3")
        await eventually(lambda: on_nodes({"n2"}))

        async def status() -> bool:
            st = (await api.get("daemonsets", "agent", namespace="default")).get("status") or {}
            assert (
                st.get("desiredNumberScheduled"),
                st.get("currentNumberScheduled"),
                st.get("numberReady"),
                st.get("updatedNumberScheduled"),
            ) == (1, 1, 1, 1), st
            return True

        await eventually(status)
