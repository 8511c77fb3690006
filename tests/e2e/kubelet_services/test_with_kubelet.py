"""The services inside a real kubelet (actors/kubelet/process.py): a static pod from a manifest
folder runs, shows as a mirror with the kubelet's status, serves logs and exec through the CLI,
survives its mirror's deletion, restarts on edit and goes with its file; ``logs -p`` after a
restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from actors.kubelet.runtime import DockerRuntime
from actors.runtime.supervisor import Supervisor
from bus.connection import Bus
from schemas.errors import NotFound
from tests.e2e.kubelet_services.helpers import BUSYBOX, jetkube, pod_manifest, wait_for

MANIFEST = f"""
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: c
    image: {BUSYBOX}
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "echo hello-%s; exec sleep 3600"]
"""


@pytest.fixture
async def kubelet(
    bus: Bus, api: Any, runtime: DockerRuntime, node_name, tmp_path: Path
) -> AsyncIterator[dict[str, Any]]:
    from actors.kubelet.process import start_kubelet

    node = node_name("kl")
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "web.yaml").write_text(MANIFEST % "one")
    sup = Supervisor()
    k = await start_kubelet(
        sup,
        bus,
        node_name=node,
        manifests_dir=str(folder),
        state_dir=str(tmp_path / "kstate"),
        heartbeat_interval=2,
        resync_period=2,
    )
    assert k, "no Docker engine"
    try:
        yield {"node": node, "folder": folder, "kubelet": k}
    finally:
        await sup.stop()


async def get_pod(api: Any, name: str) -> dict[str, Any] | None:
    try:
        return await api.get("pods", name, "default")
    except NotFound:
        return None


def running(pod: dict[str, Any] | None) -> bool:
    return bool(pod and (pod.get("status") or {}).get("phase") == "Running")


async def test_static_pod_through_the_kubelet(
    nats_url: str, api: Any, runtime: DockerRuntime, kubelet: dict[str, Any]
) -> None:
    node, folder = kubelet["node"], kubelet["folder"]
    name = f"web-{node}"

    async def mirror_running() -> dict[str, Any] | None:
        pod = await get_pod(api, name)
        return pod if running(pod) else None

    mirror = await wait_for(mirror_running, timeout=60, what="the mirror pod Running")
    assert mirror["metadata"]["annotations"]["kubernetes.io/config.mirror"]
    assert mirror["metadata"]["ownerReferences"][0]["kind"] == "Node"

    async def logs_say(text: str) -> bool:
        code, out, _ = await jetkube(nats_url, "logs", name)
        return code == 0 and out == f"{text}\n"

    await wait_for(lambda: logs_say("hello-one"), timeout=30, what="the static pod's logs")
    code, out, err = await jetkube(nats_url, "exec", name, "--", "sh", "-c", "echo inside; exit 3")
    assert (code, out) == (3, "inside\n"), err
    before = {c.id for c in await runtime.list(node)}

    code, _, err = await jetkube(nats_url, "delete", "pod", name)
    assert code == 0, err

    async def back() -> bool:
        pod = await get_pod(api, name)
        return bool(pod and pod["metadata"]["uid"] != mirror["metadata"]["uid"] and running(pod))

    await wait_for(back, timeout=30, what="the mirror to come back")
    assert {c.id for c in await runtime.list(node)} == before  # the static pod itself went on running

    (folder / "web.yaml").write_text(MANIFEST % "two")
    await wait_for(lambda: logs_say("hello-two"), timeout=60, what="the edited static pod's logs")

    (folder / "web.yaml").unlink()

    async def all_gone() -> bool:
        return await get_pod(api, name) is None and not [c for c in await runtime.list(node) if c.running]

    await wait_for(all_gone, timeout=60, what="the static pod and its mirror to go")


async def test_logs_previous_after_a_restart(nats_url: str, api: Any, kubelet: dict[str, Any]) -> None:
    node = kubelet["node"]
    container = {
        "name": "c",
        "image": BUSYBOX,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 1; exit 1"],
    }
    await api.create("pods", pod_manifest("crashy", node, [container]))

    async def restarted() -> bool:
        pod = await get_pod(api, "crashy")
        statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
        return bool(statuses and statuses[0].get("restartCount", 0) >= 1)

    await wait_for(restarted, timeout=60, what="a restart")
    code, out, err = await jetkube(nats_url, "logs", "crashy", "-p")
    assert code == 0 and out.startswith("run-") and len(out.splitlines()) == 1, (out, err)
    code, now_out, err = await jetkube(nats_url, "logs", "crashy")
    assert code == 0 and now_out != out, (now_out, err)
    await api.delete("pods", "crashy", "default", grace_period_seconds=0)
