"""A Deployment rolls out, rolls to a new image and back (undo), with the RS controller running."""

from __future__ import annotations

import asyncio
from typing import Any

from actors.deployment import rollout
from actors.deployment.controller import DeploymentController
from actors.replication.controller import ReplicaSetController
from tests.integration.controllers.helpers import eventually, fake_kubelet, running

DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx", "namespace": "default"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "nginx"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
        },
    },
}


async def _rolled_out(api: Any) -> dict[str, Any]:
    d = await api.get("deployments", "nginx", namespace="default")
    message, done = rollout.rollout_status(d)
    assert done, message
    return d


async def _image_pods(api: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for pod in (await api.list("pods", namespace="default"))["items"]:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        image = pod["spec"]["containers"][0]["image"]
        out[image] = out.get(image, 0) + 1
    return out


async def test_rollout_update_and_undo(api: Any) -> None:
    async with running(api, DeploymentController, ReplicaSetController), fake_kubelet(api):
        await api.create("deployments", DEPLOY)
        d = await eventually(lambda: _rolled_out(api), timeout=20)
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"

        # watch ready pods throughout the update: never below replicas - maxUnavailable
        lowest = [99]

        async def watch_ready() -> None:
            while True:
                pods = (await api.list("pods", namespace="default"))["items"]
                ready = sum(
                    1
                    for p in pods
                    if not p["metadata"].get("deletionTimestamp")
                    and any(
                        c["type"] == "Ready" and c["status"] == "True"
                        for c in p["status"].get("conditions", [])
                    )
                )
                lowest[0] = min(lowest[0], ready)
                await asyncio.sleep(0.02)

        watcher = asyncio.create_task(watch_ready())
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
        await api.update("deployments", d)

        async def on_new_image() -> bool:
            await _rolled_out(api)
            assert await _image_pods(api) == {"nginx:1.26": 3}
            return True

        await eventually(on_new_image, timeout=30)
        watcher.cancel()
        assert lowest[0] >= 2
        revisions = await rollout.list_history(api, "default", "nginx")
        assert [r.revision for r in revisions] == [1, 2]

        _, message = await rollout.undo(api, "default", "nginx")
        assert message == "deployment.apps/nginx rolled back"

        async def back() -> bool:
            d = await _rolled_out(api)
            assert await _image_pods(api) == {"nginx:1.25": 3}
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
            return True

        await eventually(back, timeout=30)
        rses = (await api.list("replicasets", namespace="default"))["items"]
        assert len(rses) == 2
