"""The real kubectl's ``rollout history`` and ``rollout undo`` of a StatefulSet, which read its
ControllerRevisions and patch the revision's ``data`` back (a strategic merge with ``$patch:
replace``), and ``get controllerrevisions``."""

from __future__ import annotations

from typing import Any

import pytest

from actors.statefulset.controller import StatefulSetController
from tests.integration.controllers.helpers import eventually, fake_kubelet, running
from tests.integration.gateway.conftest import Cluster

pytestmark = pytest.mark.asyncio

STS = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1"}]}
"""


async def test_kubectl_rollout_history_and_undo_of_a_statefulset(cluster: Cluster, api: Any) -> None:
    async with running(api, StatefulSetController), fake_kubelet(api):
        await cluster.ok("apply", "-f", "-", stdin=STS)

        async def numbers(expected: list[int]) -> bool:
            items = (await api.list("controllerrevisions", namespace="default"))["items"]
            assert sorted(r["revision"] for r in items) == expected
            return True

        await eventually(lambda: numbers([1]))
        await cluster.ok("set", "image", "statefulset/web", "web=nginx:2")
        await eventually(lambda: numbers([1, 2]))

        out = await cluster.ok("get", "controllerrevisions")
        assert out.split()[:4] == ["NAME", "CONTROLLER", "REVISION", "AGE"] and "statefulset.apps/web" in out
        out = await cluster.ok("rollout", "history", "statefulset/web")
        assert [line.split()[0] for line in out.splitlines()[2:] if line.strip()] == ["1", "2"], out
        out = await cluster.ok("rollout", "undo", "statefulset/web")
        assert "statefulset.apps/web rolled back" in out
        template = (await api.get("statefulsets", "web", "default"))["spec"]["template"]
        assert template["spec"]["containers"][0]["image"] == "nginx:1" and "$patch" not in template
        await eventually(lambda: numbers([2, 3]))
