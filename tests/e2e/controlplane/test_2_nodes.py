"""Nodes: cordon and uncordon, drain, node loss with eviction and rescheduling.

The cluster is the package's (conftest.py), shared by the modules, which run in their numbered order.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.controlplane.cluster import Cluster, node_name
from tests.e2e.controlplane.helpers import (
    cli,
    live_pods,
    node_of,
    node_ready,
    pod_template,
    pods,
    rc,
    running_ready,
    wait,
    wait_running,
)

A, B = node_name("a"), node_name("b")


async def test_cordon_keeps_a_pod_pending_until_uncordon(cluster: Cluster, capi: Any, ns: str) -> None:
    code, out, err = await cli(cluster.url, "cordon", A, B)
    assert (code, out) == (0, f"node/{A} cordoned\nnode/{B} cordoned\n"), err
    try:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "waiter"},
            "spec": pod_template("w")["spec"],
        }
        await capi.create("pods", pod, namespace=ns)

        async def unschedulable() -> bool:
            p = await capi.get("pods", "waiter", ns)
            conds = {c["type"]: c for c in p.get("status", {}).get("conditions") or []}
            sched = conds.get("PodScheduled") or {}
            return p["status"].get("phase") == "Pending" and sched.get("reason") == "Unschedulable"

        await wait(unschedulable, 20, "PodScheduled=False, Unschedulable")
        assert not node_of(await capi.get("pods", "waiter", ns))
        assert (await cli(cluster.url, "uncordon", B))[0] == 0

        async def scheduled() -> bool:
            p = await capi.get("pods", "waiter", ns)
            return node_of(p) == B and running_ready(p)

        await wait(scheduled, 30, "the pod scheduled on the uncordoned node and running")
    finally:
        await cli(cluster.url, "uncordon", A, B)
        await cli(cluster.url, "delete", "pod", "waiter", "-n", ns, "--ignore-not-found")


async def test_drain_moves_pods_off_the_node(cluster: Cluster, capi: Any, ns: str) -> None:
    await capi.create("replicationcontrollers", rc("moved", 2), namespace=ns)
    before = await wait_running(capi, ns, "moved", 2)
    target = node_of(before[0])
    other = B if target == A else A
    on_target = sorted(p["metadata"]["name"] for p in before if node_of(p) == target)
    try:
        code, out, err = await cli(
            cluster.url, "drain", target, "--ignore-daemonsets", "--force", "--timeout", "60s", timeout=90
        )
        assert code == 0, (out, err)
        lines = out.splitlines()
        assert lines[0] == f"node/{target} cordoned" and lines[-1] == f"node/{target} drained"
        for name in on_target:
            assert f"evicting pod {ns}/{name}" in lines and f"pod/{name} evicted" in lines
        assert (await capi.get("nodes", target))["spec"]["unschedulable"] is True
        after = await wait_running(capi, ns, "moved", 2)
        assert {node_of(p) for p in after} == {other}
        assert not [p for p in await pods(capi, ns, "moved") if p["metadata"]["name"] in on_target]
    finally:
        code, out, _ = await cli(cluster.url, "uncordon", target)
        assert (code, out) == (0, f"node/{target} uncordoned\n")


async def test_node_loss_evicts_and_reschedules(cluster: Cluster, capi: Any, ns: str) -> None:
    d = node_name("d")
    cluster.start_kubelet(d)
    await wait(lambda: node_ready(capi, d), 30, f"node {d} Ready")
    await cli(cluster.url, "cordon", A, B)
    try:
        await capi.create("replicationcontrollers", rc("survivor", 2), namespace=ns)
        first = await wait_running(capi, ns, "survivor", 2)
        assert {node_of(p) for p in first} == {d}
    finally:
        await cli(cluster.url, "uncordon", A, B)
    lost = {p["metadata"]["name"] for p in first}
    cluster.stop_kubelet(d, kill=True)
    try:

        async def unknown_and_tainted() -> dict[str, Any] | None:
            # The condition (a status write) and the taint (a spec write) land separately.
            node = await capi.get("nodes", d)
            ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
            tainted = ("node.kubernetes.io/unreachable", "NoExecute") in taints
            return node if ready["status"] == "Unknown" and tainted else None

        await wait(unknown_and_tainted, 20, f"node {d} Ready=Unknown with the unreachable NoExecute taint")

        async def moved() -> bool:
            live = [p for p in await live_pods(capi, ns, "survivor") if running_ready(p)]
            names = {p["metadata"]["name"] for p in live}
            return len(live) == 2 and not names & lost and {node_of(p) for p in live} <= {A, B}

        await wait(moved, 40, "the lost node's pods replaced on the other nodes")
    finally:
        await cli(cluster.url, "delete", "node", d)
