"""ReplicationController / ReplicaSet against a real nats-server and the api actor (no Docker)."""

from __future__ import annotations

from typing import Any

from actors.replication.controller import ReplicaSetController, ReplicationControllerManager
from tests.integration.controllers.helpers import (
    eventually,
    finalize_deletions,
    kubelet_status,
    pods_of,
    running,
)

RC = {
    "apiVersion": "v1",
    "kind": "ReplicationController",
    "metadata": {"name": "nginx", "namespace": "default"},
    "spec": {
        "replicas": 3,
        "selector": {"app": "nginx"},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
        },
    },
}


async def test_rc_keeps_replicas_replaces_deleted_pods_and_scales(api: Any) -> None:
    async with running(api, ReplicationControllerManager):
        rc = await api.create("replicationcontrollers", RC)
        uid = rc["metadata"]["uid"]

        async def count(n: int) -> list[dict[str, Any]]:
            await finalize_deletions(api)
            pods = await pods_of(api, uid)
            assert len(pods) == n, [p["metadata"]["name"] for p in pods]
            return pods

        pods = await eventually(lambda: count(3))
        assert all(p["metadata"]["name"].startswith("nginx-") for p in pods)
        for pod in pods:
            await kubelet_status(api, pod)

        async def status_ready(n: int) -> bool:
            st = (await api.get("replicationcontrollers", "nginx", namespace="default")).get("status") or {}
            assert (st.get("replicas"), st.get("readyReplicas"), st.get("availableReplicas")) == (n, n, n), st
            return True

        await eventually(lambda: status_ready(3))

        # delete a pod: a new one appears
        await api.delete("pods", pods[0]["metadata"]["name"], namespace="default", grace_period_seconds=0)
        fresh = await eventually(lambda: count(3))
        assert pods[0]["metadata"]["name"] not in {p["metadata"]["name"] for p in fresh}

        # scale down to 1: the unready new pod goes first
        # as `jetkube scale` does: a patch, so the controller's status writes cannot make it conflict
        await api.patch(
            "replicationcontrollers", "nginx", {"spec": {"replicas": 1}}, "merge", namespace="default"
        )
        left = await eventually(lambda: count(1))
        assert left[0]["metadata"]["name"] in {p["metadata"]["name"] for p in pods}


async def test_replicaset_adopts_orphans_and_releases_mismatches(api: Any) -> None:
    orphan = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stray", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    async with running(api, ReplicaSetController):
        await api.create("pods", orphan)
        created = await api.create("replicasets", rs)
        uid = created["metadata"]["uid"]

        async def two() -> list[dict[str, Any]]:
            pods = await pods_of(api, uid)
            assert len(pods) == 2
            return pods

        pods = await eventually(two)
        assert "stray" in {p["metadata"]["name"] for p in pods}

        stray = await api.get("pods", "stray", namespace="default")
        stray["metadata"]["labels"] = {"app": "other"}
        await api.update("pods", stray)

        async def released() -> bool:
            pod = await api.get("pods", "stray", namespace="default")
            assert not pod["metadata"].get("ownerReferences")
            assert len(await pods_of(api, uid)) == 2
            return True

        await eventually(released)
