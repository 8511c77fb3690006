"""``jetkube top nodes|pods`` against kubelets sampling real containers on Docker."""

from __future__ import annotations

import re
from typing import Any

from tests.waiting import jetkube
from tests.waiting import wait_for as eventually


def table(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()]


def millicores(cell: str) -> int:
    assert re.fullmatch(r"\d+m", cell), cell
    return int(cell[:-1])


async def test_top_pods_and_nodes_show_what_the_containers_use(nodes: Any) -> None:
    cluster = await nodes(1)
    node = cluster.names[0]
    await cluster.pod("busy", node, "while :; do :; done", labels={"app": "top"}, cpu="200m")
    await cluster.pod("idle", node, "exec sleep 3600", labels={"app": "top"})

    async def both_sampled() -> list[list[str]] | None:
        code, out, _ = await jetkube(cluster.url, "top", "pods", "-l", "app=top")
        rows = table(out) if code == 0 else []
        return rows if len(rows) == 3 else None

    rows = await eventually(both_sampled, 30, "top pods to show both pods")
    assert rows[0] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"busy", "idle"}
    assert millicores(by_name["busy"][1]) > millicores(by_name["idle"][1])
    assert all(re.fullmatch(r"\d+Mi", r[2]) for r in rows[1:])

    code, out, err = await jetkube(cluster.url, "top", "pods", "-A", "--containers", "-l", "app=top")
    assert code == 0, err
    rows = table(out)
    assert rows[0] == ["NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert sorted((r[0], r[1], r[2]) for r in rows[1:]) == [
        ("default", "busy", "c"),
        ("default", "idle", "c"),
    ]

    code, out, err = await jetkube(cluster.url, "top", "nodes", node)
    assert code == 0, err
    rows = table(out)
    assert rows[0] == ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    name, cpu, cpu_pct, memory, memory_pct = rows[1]
    assert name == node and millicores(cpu) > 0
    assert (
        re.fullmatch(r"\d+%", cpu_pct)
        and re.fullmatch(r"\d+Mi", memory)
        and re.fullmatch(r"\d+%", memory_pct)
    )


async def test_no_sample_is_metrics_not_available_yet(nodes: Any, api: Any) -> None:
    cluster = await nodes(0)
    await api.create(
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "nowhere", "labels": {"app": "ghost"}},
            "spec": {"nodeName": "no-such-node", "containers": [{"name": "c", "image": "busybox"}]},
        },
    )
    code, out, err = await jetkube(cluster.url, "top", "pods", "-l", "app=ghost")
    assert (code, out, err.strip()) == (1, "", "error: metrics not available yet")
    code, out, err = await jetkube(cluster.url, "top", "pods", "-l", "app=nothing")
    assert (code, err.strip()) == (0, "No resources found in default namespace.")


async def test_top_history_draws_each_rows_last_hour(nodes: Any, api: Any) -> None:
    from actors.metrics.collector import HistoryCollector
    from actors.metrics.history import BARS, History
    from actors.runtime.supervisor import Supervisor

    cluster = await nodes(1)
    node = cluster.names[0]
    await cluster.pod("hist", node, "while :; do :; done", labels={"app": "hist"}, cpu="200m")
    code, _out, err = await jetkube(cluster.url, "top", "pods", "-l", "app=hist", "--history")
    assert code == 1 and "no metrics history answers on jetkube.metrics.history" in err, err

    sup = Supervisor("top-history")
    HistoryCollector(api, api.bus, History(interval=1.0)).start(sup, serve=True)
    try:

        async def drawn(*args: str) -> list[str] | None:
            code, out, _ = await jetkube(cluster.url, "top", *args, "--history")
            lines = out.splitlines() if code == 0 else []
            if len(lines) == 2 and sum(ch in BARS for ch in lines[1]) >= 2:  # CPU and memory
                return lines
            return None

        lines = await eventually(lambda: drawn("pods", "-l", "app=hist"), 30, "top pods --history")
        assert lines[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)", "CPU(1h)", "MEMORY(1h)"]
        assert lines[1].startswith("hist ")
        lines = await eventually(lambda: drawn("nodes", node), 30, "top nodes --history")
        assert lines[0].split()[-2:] == ["CPU(1h)", "MEMORY(1h)"]
    finally:
        await sup.stop()
