"""``kubectl top`` through metrics.k8s.io/v1beta1 on the gateway, from real kubelets sampling real
containers on Docker."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.gateway.conftest import Cluster
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio


async def test_kubectl_top_pods_and_nodes(nodes: Any, cluster: Cluster) -> None:
    kubelets = await nodes(1)
    node = kubelets.names[0]
    await kubelets.pod("busy", node, "while :; do :; done", labels={"app": "top"}, cpu="200m")
    await kubelets.pod("idle", node, "exec sleep 3600", labels={"app": "top"})

    async def both_sampled() -> list[list[str]] | None:
        run = await cluster.kubectl("top", "pods", "-l", "app=top")
        rows = [line.split() for line in run.out.strip().splitlines()] if run.code == 0 else []
        return rows if len(rows) == 3 else None

    rows = await wait_for(both_sampled, 40, "kubectl top pods to show both pods")
    assert rows[0] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    by_name = {r[0]: r for r in rows[1:]}
    assert int(by_name["busy"][1].rstrip("m")) > int(by_name["idle"][1].rstrip("m"))
    assert all(re.fullmatch(r"\d+Mi", r[2]) for r in rows[1:])

    top_node = [line.split() for line in (await cluster.ok("top", "node", node)).strip().splitlines()]
    assert top_node[0] == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert top_node[1][0] == node and re.fullmatch(r"\d+m", top_node[1][1])
