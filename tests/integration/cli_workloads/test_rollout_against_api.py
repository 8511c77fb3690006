"""``jetkube rollout`` and ``set image`` as a user runs them, against the api and the controllers.

The deployment and replicaset controllers run in this process (tests/integration/controllers);
a fake kubelet turns pods Running and Ready. The CLI runs as a subprocess over NATS.
"""

from __future__ import annotations

import copy
from typing import Any

from actors.deployment.controller import DeploymentController
from actors.replication.controller import ReplicaSetController
from tests.integration.cli_workloads.helpers import jetkube, stream, until
from tests.integration.controllers.helpers import eventually, fake_kubelet, running

DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
        },
    },
}


async def images(api: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for pod in (await api.list("pods", namespace="default"))["items"]:
        if not pod["metadata"].get("deletionTimestamp"):
            image = pod["spec"]["containers"][0]["image"]
            out[image] = out.get(image, 0) + 1
    return out


async def test_set_image_status_history_undo(nats_url: str, api: Any) -> None:
    async with running(api, DeploymentController, ReplicaSetController), fake_kubelet(api):
        await api.create("deployments", DEPLOY)
        code, out, err = await jetkube(nats_url, "rollout", "status", "deployment/web", "--timeout", "30s")
        assert code == 0, err
        assert out.splitlines()[-1] == 'deployment "web" successfully rolled out'

        code, out, err = await jetkube(nats_url, "set", "image", "deployment/web", "web=nginx:2")
        assert (code, out) == (0, "deployment.apps/web image updated\n"), err
        watching = await stream(nats_url, "rollout", "status", "deploy/web", "--timeout", "30s")
        code, lines, err = await watching.wait()
        assert code == 0, err
        assert lines[-1] == 'deployment "web" successfully rolled out'
        assert all(line.startswith(('Waiting for deployment "web"', "deployment ")) for line in lines), lines
        assert await images(api) == {"nginx:2": 3}

        code, out, err = await jetkube(nats_url, "rollout", "history", "deploy/web")
        assert code == 0, err
        assert [line.split()[0] for line in out.splitlines()[2:] if line] == ["1", "2"]
        code, out, err = await jetkube(nats_url, "rollout", "history", "deploy/web", "--revision", "1")
        assert code == 0 and "deployment.apps/web with revision #1" in out and "nginx:1" in out, err

        code, out, err = await jetkube(nats_url, "rollout", "undo", "deploy/web")
        assert (code, out) == (0, "deployment.apps/web rolled back\n"), err
        code, out, err = await jetkube(nats_url, "rollout", "status", "deploy/web", "--timeout", "30s")
        assert code == 0, err

        async def back() -> bool:
            return await images(api) == {"nginx:1": 3}

        await eventually(back, timeout=20)
        code, out, err = await jetkube(nats_url, "rollout", "history", "deploy/web")
        assert [line.split()[0] for line in out.splitlines()[2:] if line] == ["2", "3"]
        code, out, err = await jetkube(nats_url, "rollout", "undo", "deploy/web", "--to-revision", "9")
        assert code == 1 and err.strip() == "error: unable to find specified revision 9 in history"


async def test_pause_resume_restart(nats_url: str, api: Any) -> None:
    async with running(api, DeploymentController, ReplicaSetController), fake_kubelet(api):
        await api.create("deployments", DEPLOY)
        assert (await jetkube(nats_url, "rollout", "status", "deploy/web", "--timeout", "30s"))[0] == 0
        code, out, err = await jetkube(nats_url, "rollout", "pause", "deploy/web")
        assert (code, out) == (0, "deployment.apps/web paused\n"), err
        assert (await jetkube(nats_url, "set", "image", "deploy/web", "web=nginx:3"))[0] == 0

        async def observed() -> bool:
            d = await api.get("deployments", "web", "default")
            return d["status"].get("observedGeneration") == d["metadata"]["generation"]

        await eventually(observed)
        assert len((await api.list("replicasets", "default"))["items"]) == 1, "paused: no new ReplicaSet"
        assert await images(api) == {"nginx:1": 3}

        code, out, _ = await jetkube(nats_url, "rollout", "restart", "deploy/web")
        assert code == 1
        code, out, err = await jetkube(nats_url, "rollout", "resume", "deploy/web")
        assert (code, out) == (0, "deployment.apps/web resumed\n"), err
        assert (await jetkube(nats_url, "rollout", "status", "deploy/web", "--timeout", "30s"))[0] == 0

        async def rolled() -> bool:
            return await images(api) == {"nginx:3": 3}

        await eventually(rolled, timeout=20)
        code, out, err = await jetkube(nats_url, "rollout", "restart", "deploy/web")
        assert (code, out) == (0, "deployment.apps/web restarted\n"), err
        assert (await jetkube(nats_url, "rollout", "status", "deploy/web", "--timeout", "30s"))[0] == 0
        assert len((await api.list("replicasets", "default"))["items"]) == 3


async def test_status_exits_one_past_the_progress_deadline(nats_url: str, api: Any) -> None:
    slow = copy.deepcopy(DEPLOY)
    slow["metadata"]["name"] = "stuck"
    slow["spec"]["progressDeadlineSeconds"] = 2
    slow["spec"]["selector"] = {"matchLabels": {"app": "stuck"}}
    slow["spec"]["template"]["metadata"]["labels"] = {"app": "stuck"}
    # The command is following before any controller runs: a 2 s deadline cannot pass while the
    # CLI starts (under CI load it did, and kubectl then prints the error alone, as we do).
    await api.create("deployments", slow)
    watching = await stream(nats_url, "rollout", "status", "deploy/stuck")
    try:
        await until(lambda: bool(watching.lines), timeout=30)
        async with running(api, DeploymentController, ReplicaSetController):  # no kubelet: never ready
            code, lines, err = await watching.wait(timeout=30)
    finally:
        watching.kill()
    assert code == 1
    assert lines[0] == "Waiting for deployment spec update to be observed..."
    waiting = 'Waiting for deployment "stuck" rollout to finish'
    assert any(line.startswith(waiting) for line in lines[1:]), lines
    assert err.strip().splitlines()[-1] == 'error: deployment "stuck" exceeded its progress deadline'


async def test_set_image_on_rc_and_pod(nats_url: str, api: Any) -> None:
    await api.create(
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
        },
        namespace="default",
    )
    rc = {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "r"},
        "spec": {
            "replicas": 0,
            "selector": {"app": "r"},
            "template": {
                "metadata": {"labels": {"app": "r"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
            },
        },
    }
    await api.create("replicationcontrollers", rc, namespace="default")
    code, out, err = await jetkube(nats_url, "set", "image", "pod/p", "rc/r", "c=busybox:2")
    assert code == 0, err
    assert out == "pod/p image updated\nreplicationcontroller/r image updated\n"
    assert (await api.get("pods", "p", "default"))["spec"]["containers"][0]["image"] == "busybox:2"
    got = await api.get("replicationcontrollers", "r", "default")
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:2"
    code, out, err = await jetkube(nats_url, "set", "image", "pod/p", "x=busybox:2")
    assert code == 1 and err.strip() == 'error: unable to find container named "x"'
