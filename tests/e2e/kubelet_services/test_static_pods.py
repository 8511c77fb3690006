"""Static pods from a manifests folder, and their mirror pods in the api (real NATS and api).

The kubelet here is a small fake that records what it is handed and reports a Running status, so
the test watches StaticPods' own work: the folder, the hand-over, and the mirrors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from actors.kubelet.static import StaticPods
from actors.kubelet.static_plan import HASH_ANNOTATION, MIRROR_ANNOTATION, SOURCE_ANNOTATION
from actors.runtime.supervisor import Supervisor
from schemas.errors import NotFound
from tests.e2e.kubelet_services.helpers import jetkube, wait_for

NODE = "static-node"
KEY = f"default/web-{NODE}"
MANIFEST = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {role: static}
spec:
  containers:
  - name: c
    image: gcr.io/google_containers/busybox
    command: [sleep, "%s"]
"""


class FakeKubelet:
    def __init__(self) -> None:
        self.pods: dict[str, dict[str, Any]] = {}
        self.handovers = 0

    def set_static_pods(self, pods: dict[str, dict[str, Any]]) -> None:
        self.pods = pods
        self.handovers += 1

    async def pod_status(self, key: str) -> dict[str, Any] | None:
        pod = self.pods.get(key)
        if pod is None:
            return None
        return {"phase": "Running", "podIP": "10.0.0.9", "message": pod["metadata"]["uid"]}


@pytest.fixture
async def static(api: Any, tmp_path: Path) -> AsyncIterator[tuple[StaticPods, FakeKubelet, Path]]:
    await api.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}})
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "web.yaml").write_text(MANIFEST % "1000")
    kubelet = FakeKubelet()
    sp = StaticPods(folder, NODE, kubelet, api, poll=0.2, resync=0.5)
    sup = Supervisor()
    sup.spawn("static-pods", sp.run)
    try:
        yield sp, kubelet, folder
    finally:
        await sup.stop()


async def mirror(api: Any) -> dict[str, Any] | None:
    try:
        return await api.get("pods", f"web-{NODE}", "default")
    except NotFound:
        return None


async def test_static_pod_mirror_lifecycle(
    nats_url: str, api: Any, static: tuple[StaticPods, FakeKubelet, Path]
) -> None:
    sp, kubelet, folder = static
    await wait_for(lambda: asyncio.sleep(0, KEY in kubelet.pods), what="the static pod handed over")
    pod = kubelet.pods[KEY]
    digest = pod["metadata"]["uid"]
    assert pod["metadata"]["annotations"][HASH_ANNOTATION] == digest
    assert pod["metadata"]["annotations"][SOURCE_ANNOTATION] == "file"
    assert pod["spec"]["nodeName"] == NODE

    async def mirrored_with_status() -> dict[str, Any] | None:
        m = await mirror(api)
        return m if m and (m.get("status") or {}).get("message") == digest else None

    m = await wait_for(mirrored_with_status, what="the mirror pod with the kubelet's status")
    node = await api.get("nodes", NODE)
    assert m["metadata"]["annotations"][MIRROR_ANNOTATION] == digest
    assert m["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": NODE, "uid": node["metadata"]["uid"], "controller": True}
    ]
    assert m["status"]["phase"] == "Running" and m["spec"]["nodeName"] == NODE
    code, out, err = await jetkube(nats_url, "get", "pods", f"web-{NODE}")
    assert code == 0 and "Running" in out, err

    # deleting the mirror through the CLI brings it back (a new mirror, the same static pod)
    code, out, err = await jetkube(nats_url, "delete", "pod", f"web-{NODE}")
    assert code == 0 and out == f'pod "web-{NODE}" deleted\n', err

    async def recreated() -> dict[str, Any] | None:
        again = await mirror(api)
        if again and again["metadata"]["uid"] != m["metadata"]["uid"]:
            return again if not again["metadata"].get("deletionTimestamp") else None
        return None

    again = await wait_for(recreated, what="the mirror to come back")
    assert again["metadata"]["annotations"][MIRROR_ANNOTATION] == digest
    assert kubelet.pods[KEY]["metadata"]["uid"] == digest  # the static pod itself never changed

    # a bad file is logged and ignored; the others go on
    (folder / "broken.yaml").write_text("kind: Pod\napiVersion: v1\nmetadata: {name: x}\nspec: {}\n")
    (folder / ".hidden.yaml").write_text("not: [yaml")
    # the positive control: the scan that read them has run (it names the broken file's problem)
    await wait_for(lambda: asyncio.sleep(0, "broken.yaml" in sp.problems), what="a scan of the new files")
    assert set(kubelet.pods) == {KEY}

    # editing the file: a new hash, so a new static pod and a new mirror
    (folder / "web.yaml").write_text(MANIFEST % "2000")
    await wait_for(
        lambda: asyncio.sleep(
            0, kubelet.pods.get(KEY, {}).get("metadata", {}).get("uid") not in (None, digest)
        ),
        what="the edited static pod",
    )
    new_digest = kubelet.pods[KEY]["metadata"]["uid"]
    assert kubelet.pods[KEY]["spec"]["containers"][0]["command"] == ["sleep", "2000"]

    async def updated() -> dict[str, Any] | None:
        got = await mirror(api)
        return got if got and got["metadata"]["annotations"].get(MIRROR_ANNOTATION) == new_digest else None

    updated_mirror = await wait_for(updated, what="the mirror of the edited pod")
    assert updated_mirror["spec"]["containers"][0]["command"] == ["sleep", "2000"]

    # removing the file removes the static pod and its mirror
    (folder / "web.yaml").unlink()
    await wait_for(lambda: asyncio.sleep(0, not kubelet.pods), what="the static pod to go")

    async def gone() -> bool:
        return await mirror(api) is None

    await wait_for(gone, what="the mirror to go")


async def test_a_missing_folder_is_empty_and_fine(api: Any, tmp_path: Path) -> None:
    kubelet = FakeKubelet()
    sp = StaticPods(tmp_path / "nope", "n-missing", kubelet, api)
    assert await sp.scan() is True  # the first scan always hands over, even nothing
    assert kubelet.pods == {} and kubelet.handovers == 1
    assert await sp.scan() is False and kubelet.handovers == 1
    assert await sp.sync() == []  # no Node yet: nothing to own the mirrors, nothing done
