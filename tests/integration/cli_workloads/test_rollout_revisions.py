"""ControllerRevisions: a StatefulSet's and a DaemonSet's templates get numbered revisions, which
``jetkube rollout history`` lists and ``rollout undo`` goes back to, as kubectl does.

The controllers run in this process; a fake kubelet turns pods Running and Ready; the CLI runs
as a subprocess over NATS.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from actors.daemonset.controller import DaemonSetController
from actors.statefulset.controller import StatefulSetController
from schemas.errors import Conflict
from tests.integration.cli_workloads.helpers import jetkube
from tests.integration.controllers.helpers import eventually, fake_kubelet, running

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
}
STS: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 2,
        "serviceName": "web",
        "selector": {"matchLabels": {"app": "web"}},
        "template": TEMPLATE,
    },
}
DS: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "agent", "namespace": "default"},
    "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
}


async def revisions(api: Any, owner: str) -> dict[int, str]:
    """{revision number: image} of the owner's ControllerRevisions."""
    out = {}
    for r in (await api.list("controllerrevisions", namespace="default"))["items"]:
        refs = r["metadata"].get("ownerReferences") or []
        if refs and refs[0]["name"] == owner:
            out[r["revision"]] = r["data"]["spec"]["template"]["spec"]["containers"][0]["image"]
    return out


async def set_image(api: Any, resource: str, name: str, image: str) -> None:
    async def once() -> bool:
        obj = copy.deepcopy(await api.get(resource, name, "default"))
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
        try:
            await api.update(resource, obj, namespace="default")
        except Conflict:  # the controller wrote the status meanwhile
            return False
        return True

    await eventually(once)


@pytest.mark.parametrize(
    ("resource", "name", "kind"),
    [("statefulsets", "web", "statefulset"), ("daemonsets", "agent", "daemonset")],
)
async def test_revisions_history_and_undo(
    nats_url: str, api: Any, resource: str, name: str, kind: str
) -> None:
    if resource == "daemonsets":
        await api.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    async with running(api, StatefulSetController, DaemonSetController), fake_kubelet(api):
        await api.create(resource, STS if resource == "statefulsets" else DS)

        async def have(expected: dict[int, str]) -> bool:
            assert await revisions(api, name) == expected
            return True

        await eventually(lambda: have({1: "nginx:1"}))
        await set_image(api, resource, name, "nginx:2")
        await eventually(lambda: have({1: "nginx:1", 2: "nginx:2"}))

        code, out, err = await jetkube(nats_url, "get", "controllerrevisions")
        assert code == 0, err
        assert out.split()[:4] == ["NAME", "CONTROLLER", "REVISION", "AGE"]
        assert f"{kind}.apps/{name}" in out

        code, out, err = await jetkube(nats_url, "rollout", "history", f"{resource}/{name}")
        assert code == 0, err
        assert out.splitlines()[0] == f"{kind}.apps/{name}"
        assert [line.split()[0] for line in out.splitlines()[2:] if line] == ["1", "2"]
        code, out, err = await jetkube(
            nats_url, "rollout", "history", f"{resource}/{name}", "--revision", "1"
        )
        assert code == 0, err
        assert f"{kind}.apps/{name} with revision #1" in out and "nginx:1" in out

        # undo: the previous template comes back and its revision becomes the newest
        code, out, err = await jetkube(nats_url, "rollout", "undo", f"{resource}/{name}")
        assert (code, out.strip()) == (0, f"{kind}.apps/{name} rolled back"), err
        obj = await api.get(resource, name, "default")
        assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
        await eventually(lambda: have({2: "nginx:2", 3: "nginx:1"}))
        code, out, err = await jetkube(
            nats_url, "rollout", "undo", f"{resource}/{name}", "--to-revision", "3"
        )
        assert code == 0, err
        assert (
            out.strip()
            == f"{kind}.apps/{name} skipped rollback (current template already matches revision 3)"
        )
        code, out, err = await jetkube(
            nats_url, "rollout", "undo", f"{resource}/{name}", "--to-revision", "1"
        )
        assert code != 0 and "unable to find specified revision 1" in err
