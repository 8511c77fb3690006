"""Workloads on several kubelets: RC, Deployment rollout and undo, DaemonSet, Jobs, the seed's pi Job.

The cluster is the package's (conftest.py), shared by the modules, which run in their numbered order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from tests.e2e.controlplane.cluster import Cluster, node_name
from tests.e2e.controlplane.helpers import (
    cli,
    container,
    live_pods,
    node_of,
    node_ready,
    pod_template,
    rc,
    running_ready,
    wait,
    wait_running,
)
from tests.seedpaths import SEED_EXAMPLES

A, B = node_name("a"), node_name("b")
SEED = SEED_EXAMPLES


async def test_rc_replaces_a_deleted_pod_and_scales(cluster: Cluster, capi: Any, ns: str) -> None:
    await capi.create("replicationcontrollers", rc("web", 2), namespace=ns)
    first = await wait_running(capi, ns, "web", 2)
    victim = first[0]["metadata"]["name"]
    code, out, err = await cli(cluster.url, "delete", "pod", victim, "-n", ns)
    assert (code, out) == (0, f'pod "{victim}" deleted\n'), err

    async def replaced() -> bool:
        names = {p["metadata"]["name"] for p in await live_pods(capi, ns, "web") if running_ready(p)}
        return len(names) == 2 and victim not in names

    await wait(replaced, 40, "a new pod in place of the deleted one")
    code, out, err = await cli(cluster.url, "scale", "rc", "web", "--replicas", "3", "-n", ns)
    assert (code, out) == (0, "replicationcontroller/web scaled\n"), err
    three = await wait_running(capi, ns, "web", 3)
    assert {node_of(p) for p in three} == {A, B}, "the scheduler spreads one controller's pods"
    assert (await cli(cluster.url, "scale", "rc", "web", "--replicas", "1", "-n", ns))[0] == 0
    await wait_running(capi, ns, "web", 1)
    rcobj = await capi.get("replicationcontrollers", "web", ns)
    assert rcobj["status"]["replicas"] == 1


async def test_deployment_rolling_update_and_undo_keep_enough_ready(
    cluster: Cluster, capi: Any, ns: str
) -> None:
    # An exec probe under the whole suite's load can take over a second: a fresh-clone run saw an
    # old pod's probe time out three times running (Ready False for 4 s) mid-rollout, which no
    # controller can prevent. The probe tolerates that; the controller's pacing is what is tested.
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 1, "timeoutSeconds": 10, "failureThreshold": 10}
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "roll"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "roll"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
            "template": pod_template("roll", container(readinessProbe=probe)),
        },
    }
    await capi.create("deployments", deploy, namespace=ns)
    code, out, err = await cli(cluster.url, "rollout", "status", "deploy/roll", "-n", ns, "--timeout", "60s")
    assert code == 0 and out.splitlines()[-1] == 'deployment "roll" successfully rolled out', (out, err)

    ready: dict[str, bool] = {}
    lowest = [3]
    seen = [0]
    timeline: list[tuple[Any, ...]] = []
    synced = asyncio.Event()

    async def watch_ready() -> None:
        async with contextlib.aclosing(capi.watch("pods", ns, label_selector="app=roll")) as events:
            async for event in events:
                if event.type == "BOOKMARK":
                    synced.set()  # the initial list is in: count from here on
                    continue
                name = event.object["metadata"]["name"]
                ready[name] = event.type != "DELETED" and running_ready(event.object)
                seen[0] += 1
                if synced.is_set():
                    lowest[0] = min(lowest[0], sum(ready.values()))
                st = event.object.get("status") or {}
                timeline.append(
                    (
                        round(time.monotonic() % 1000, 2),
                        event.type,
                        name,
                        st.get("phase"),
                        [c["status"] for c in st.get("conditions") or [] if c["type"] == "Ready"],
                        bool(event.object["metadata"].get("deletionTimestamp")),
                        sum(ready.values()),
                    )
                )

    watcher = asyncio.create_task(watch_ready(), name="ready-watcher")
    try:
        await asyncio.wait_for(synced.wait(), 10)
        assert sum(ready.values()) == 3
        other = "gcr.io/google_containers/busybox:latest"
        code, out, err = await cli(cluster.url, "set", "image", "deployment/roll", f"main={other}", "-n", ns)
        assert (code, out) == (0, "deployment.apps/roll image updated\n"), err
        code, out, err = await cli(
            cluster.url, "rollout", "status", "deploy/roll", "-n", ns, "--timeout", "90s"
        )
        assert code == 0, (out, err)
        lines = out.splitlines()
        assert lines[-1] == 'deployment "roll" successfully rolled out'
        assert await _images(capi, ns) == {other: 3}

        code, out, err = await cli(cluster.url, "rollout", "undo", "deploy/roll", "-n", ns)
        assert (code, out) == (0, "deployment.apps/roll rolled back\n"), err
        code, out, err = await cli(
            cluster.url, "rollout", "status", "deploy/roll", "-n", ns, "--timeout", "90s"
        )
        assert code == 0, (out, err)
        assert await _images(capi, ns) == {"busybox:latest": 3}
        code, out, err = await cli(cluster.url, "rollout", "history", "deploy/roll", "-n", ns)
        assert [line.split()[0] for line in out.splitlines()[2:] if line] == ["2", "3"], out
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    assert seen[0] > 12, "the watcher followed the rollouts"
    assert lowest[0] >= 3 - 1, (
        f"ready pods dropped to {lowest[0]} (< replicas - maxUnavailable): " + "\n".join(map(str, timeline))
    )


async def _images(api: Any, ns: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in await live_pods(api, ns):
        image = p["spec"]["containers"][0]["image"]
        out[image] = out.get(image, 0) + 1
    return out


async def test_daemonset_follows_nodes_joining_and_leaving(cluster: Cluster, capi: Any, ns: str) -> None:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": pod_template("agent")},
    }
    await capi.create("daemonsets", ds, namespace=ns)

    async def on_nodes(expected: set[str]) -> bool:
        live = [p for p in await live_pods(capi, ns, "agent") if running_ready(p)]
        return sorted(node_of(p) for p in live) == sorted(expected)

    await wait(lambda: on_nodes({A, B}), 40, "one agent pod on each of the two nodes")
    c = node_name("c")
    cluster.start_kubelet(c)
    try:
        await wait(lambda: node_ready(capi, c), 30, f"node {c} Ready")
        await wait(lambda: on_nodes({A, B, c}), 40, "an agent pod on the node that joined")
    finally:
        cluster.stop_kubelet(c)
    code, _out, err = await cli(cluster.url, "delete", "node", c)
    assert code == 0, err
    await wait(lambda: on_nodes({A, B}), 40, "the agent pod of the node that left to go")
    d = await capi.get("daemonsets", "agent", ns)
    assert d["status"]["desiredNumberScheduled"] == 2
    assert (await cli(cluster.url, "delete", "ds", "agent", "-n", ns))[0] == 0


async def test_jobs_complete_in_parallel_and_fail_after_backoff_limit(
    cluster: Cluster, capi: Any, ns: str
) -> None:
    def job(name: str, command: list[str], **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                **spec,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "terminationGracePeriodSeconds": 1,
                        "containers": [container("work", command=command)],
                    }
                },
            },
        }

    await capi.create("jobs", job("batch", ["sleep", "1"], completions=4, parallelism=2), namespace=ns)
    await capi.create("jobs", job("doomed", ["sh", "-c", "exit 3"], backoffLimit=1), namespace=ns)
    most_active = [0]

    def condition(j: dict[str, Any], kind: str) -> dict[str, Any] | None:
        for c in j.get("status", {}).get("conditions") or []:
            if c["type"] == kind and c["status"] == "True":
                return c
        return None

    async def complete() -> dict[str, Any] | None:
        j = await capi.get("jobs", "batch", ns)
        most_active[0] = max(most_active[0], int(j.get("status", {}).get("active") or 0))
        return j if condition(j, "Complete") else None

    done = await wait(complete, 60, "job batch to complete", interval=0.1)
    assert done["status"]["succeeded"] == 4 and done["status"].get("completionTime")
    assert 1 <= most_active[0] <= 2

    async def failed() -> dict[str, Any] | None:
        j = await capi.get("jobs", "doomed", ns)
        return j if condition(j, "Failed") else None

    gone = await wait(failed, 60, "job doomed to fail")
    assert condition(gone, "Failed")["reason"] == "BackoffLimitExceeded"
    assert gone["status"]["failed"] == 2
    code, out, err = await cli(cluster.url, "get", "jobs", "-n", ns)
    assert code == 0 and "batch" in out and "doomed" in out, err


async def test_seed_pi_job_prints_2000_digits(cluster: Cluster, capi: Any, ns: str) -> None:
    code, out, err = await cli(cluster.url, "apply", "-f", str(SEED / "job-pi.yaml"), "-n", ns)
    assert (code, out) == (0, "job.batch/pi created\n"), err

    async def complete() -> bool:
        j = await capi.get("jobs", "pi", ns)
        return any(c["type"] == "Complete" for c in j.get("status", {}).get("conditions") or [])

    await wait(complete, 90, "the pi job to complete")
    code, out, err = await cli(cluster.url, "logs", "job/pi", "-n", ns)
    assert code == 0, err
    digits = out.strip()
    assert digits.startswith("3.14159265358979323846") and len(digits) == 2001, digits[:80]
