"""``rolling-update`` of a ReplicationController against the api, the RC manager and a kubelet
stand-in (pods turn Ready at once): the ready count never drops below replicas - 1 (sampled), the
old RC is replaced, and ``--rollback`` restores the old RC after an interrupted update."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import yaml

from actors.gc.controller import GarbageCollector
from actors.replication.controller import ReplicationControllerManager
from tests.integration.controllers.helpers import eventually, fake_kubelet, running
from tests.waiting import jetkube, line_with, start_jetkube

FAST = ["--update-period=0.2s", "--poll-interval=0.1s", "--timeout=30s"]


def rc(name: str, image: str, version: str, replicas: int = 3) -> dict[str, Any]:
    labels = {"app": "web", "version": version}
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": labels,
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


async def ready_images(api: Any) -> list[str]:
    out = []
    for pod in (await api.list("pods", "default", label_selector="app=web"))["items"]:
        conds = (pod.get("status") or {}).get("conditions") or []
        if not pod["metadata"].get("deletionTimestamp") and any(
            c["type"] == "Ready" and c["status"] == "True" for c in conds
        ):
            out.append(pod["spec"]["containers"][0]["image"])
    return out


async def sample_ready(api: Any, samples: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(len(await ready_images(api)))
        await asyncio.sleep(0.05)


async def test_image_update_keeps_replicas_minus_one_ready(nats_url: str, api: Any) -> None:
    async with running(api, ReplicationControllerManager, GarbageCollector), fake_kubelet(api):
        await api.create("replicationcontrollers", rc("web", "busybox:1", "1"))
        await eventually(lambda: _count(api, 3), 20)
        samples: list[int] = []
        stop = asyncio.Event()
        sampler = asyncio.ensure_future(sample_ready(api, samples, stop))
        code, out, err = await jetkube(
            nats_url, "rolling-update", "web", "--image=busybox:2", *FAST, timeout=120
        )
        stop.set()
        await sampler
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].startswith("Created web-")
        assert (
            lines[1].startswith("Scaling up web-")
            and "(keep 3 pods available, don't exceed 4 pods)" in lines[1]
        )
        assert lines[-1] == 'replicationcontroller "web" rolling updated'
        assert min(samples) >= 2, samples
        final = await api.get("replicationcontrollers", "web", "default")
        assert final["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:2"
        assert final["spec"]["replicas"] == 3

        async def all_new() -> bool:
            return sorted(await ready_images(api)) == ["busybox:2"] * 3

        await eventually(all_new, 20)
        names = [
            r["metadata"]["name"] for r in (await api.list("replicationcontrollers", "default"))["items"]
        ]
        assert names == ["web"]


async def _count(api: Any, n: int) -> bool:
    return len(await ready_images(api)) == n


async def test_rollback_after_an_interrupted_update(nats_url: str, api: Any, tmp_path: Path) -> None:
    new_file = tmp_path / "web-v2.yaml"
    new_file.write_text(yaml.safe_dump(rc("web-v2", "busybox:2", "2")))
    async with running(api, ReplicationControllerManager, GarbageCollector), fake_kubelet(api):
        await api.create("replicationcontrollers", rc("web-v1", "busybox:1", "1"))
        await eventually(lambda: _count(api, 3), 20)
        proc = await start_jetkube(
            nats_url, "rolling-update", "web-v1", "-f", str(new_file), "--update-period=5s"
        )
        try:
            await line_with(proc, "Scaling web-v2 up to 1")
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        code, out, err = await jetkube(
            nats_url, "rolling-update", "web-v1", "web-v2", "--rollback", *FAST, timeout=120
        )
        assert code == 0, err
        assert out.splitlines()[-1] == 'replicationcontroller "web-v1" rolled back'

        async def old_only() -> bool:
            return sorted(await ready_images(api)) == ["busybox:1"] * 3

        await eventually(old_only, 20)
        names = [
            r["metadata"]["name"] for r in (await api.list("replicationcontrollers", "default"))["items"]
        ]
        assert names == ["web-v1"]
        # and the update, run again to the end, replaces web-v1 with web-v2
        code, out, err = await jetkube(
            nats_url, "rolling-update", "web-v1", "-f", str(new_file), *FAST, timeout=120
        )
        assert code == 0, err
        assert out.splitlines()[-1] == 'replicationcontroller "web-v1" rolling updated to "web-v2"'
