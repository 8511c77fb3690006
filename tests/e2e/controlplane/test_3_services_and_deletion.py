"""Service endpoints following readiness, the cascade policies, quota, namespace deletion, and the
CronJob created when the cluster came up (checked late, so that little of its minute is left to wait).

The cluster is the package's (conftest.py), shared by the modules, which run in their numbered order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import yaml

from schemas.errors import Forbidden, NotFound
from tests.e2e.controlplane.cluster import Cluster
from tests.e2e.controlplane.helpers import (
    cli,
    container,
    is_live,
    live_pods,
    pod_template,
    pods,
    rc,
    running_ready,
    wait,
    wait_running,
)


async def test_service_endpoints_follow_readiness(cluster: Cluster, capi: Any, ns: str) -> None:
    probe = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1}
    cmd = ["sh", "-c", "touch /tmp/ready; trap 'exit 0' TERM; sleep 3600 & wait"]
    tpl = pod_template(
        "ready", container(command=cmd, readinessProbe=probe, ports=[{"name": "http", "containerPort": 8080}])
    )
    await capi.create("replicationcontrollers", rc("ready", 2, tpl), namespace=ns)
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "ready"},
        "spec": {"selector": {"app": "ready"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    await capi.create("services", svc, namespace=ns)
    running = await wait_running(capi, ns, "ready", 2)
    ips = {p["status"]["podIP"] for p in running}
    assert len(ips) == 2

    async def endpoints(ready: set[str], not_ready: set[str]) -> bool:
        ep = await capi.get("endpoints", "ready", ns)
        subsets = ep.get("subsets") or [{}]
        got = {a["ip"] for s in subsets for a in s.get("addresses") or []}
        got_not = {a["ip"] for s in subsets for a in s.get("notReadyAddresses") or []}
        assert all(p.get("port") == 8080 for s in subsets for p in s.get("ports") or [])
        return got == ready and got_not == not_ready

    await wait(lambda: endpoints(ips, set()), 20, "both pods in the endpoints")
    pod = running[0]
    name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
    code, _out, err = await cli(cluster.url, "exec", name, "-n", ns, "--", "rm", "/tmp/ready")
    assert code == 0, err
    started = time.monotonic()
    await wait(lambda: endpoints(ips - {ip}, {ip}), 15, "the unready pod in notReadyAddresses")
    unready_after = time.monotonic() - started
    code, _out, err = await cli(cluster.url, "exec", name, "-n", ns, "--", "touch", "/tmp/ready")
    assert code == 0, err
    await wait(lambda: endpoints(ips, set()), 15, "the pod back in addresses")
    assert unready_after < 10


async def test_three_cascade_policies(cluster: Cluster, capi: Any, ns: str) -> None:
    for name in ("bg", "fg", "orph"):
        await capi.create("replicationcontrollers", rc(name, 1), namespace=ns)
    for name in ("bg", "fg", "orph"):
        await wait_running(capi, ns, name, 1)

    # background: the owner goes at once, its pods after it
    code, out, err = await cli(cluster.url, "delete", "rc", "bg", "--cascade=background", "-n", ns)
    assert (code, out) == (0, 'replicationcontroller "bg" deleted\n'), err
    await wait(lambda: _none(capi, ns, "bg"), 30, "the background-deleted RC's pod to go")

    # foreground: the owner stays (foregroundDeletion finalizer) until its pods are gone
    timeline: list[tuple[bool, bool, int]] = []  # (rc exists, has the finalizer, pods left)

    async def observe() -> None:
        while True:
            try:
                obj = await capi.get("replicationcontrollers", "fg", ns)
                fin = "foregroundDeletion" in (obj["metadata"].get("finalizers") or [])
                exists = True
            except NotFound:
                exists, fin = False, False
            timeline.append((exists, fin, len(await pods(capi, ns, "fg"))))
            if not exists:
                return
            await asyncio.sleep(0.03)

    observer = asyncio.create_task(observe(), name="fg-observer")
    await asyncio.sleep(0.1)
    code, out, err = await cli(cluster.url, "delete", "rc", "fg", "--cascade=foreground", "-n", ns)
    assert code == 0, err
    await asyncio.wait_for(observer, 30)
    assert any(exists and fin and left > 0 for exists, fin, left in timeline), timeline[-5:]
    assert timeline[-1] == (False, False, 0), "the owner went only after its pods"

    # orphan: the owner goes, its pod stays, released
    orphan = (await live_pods(capi, ns, "orph"))[0]["metadata"]["name"]
    code, out, err = await cli(cluster.url, "delete", "rc", "orph", "--cascade=orphan", "-n", ns)
    assert code == 0, err

    async def released() -> bool:
        p = await capi.get("pods", orphan, ns)
        return is_live(p) and not p["metadata"].get("ownerReferences")

    await wait(released, 20, "the orphaned pod to lose its ownerReference")
    with contextlib.suppress(NotFound):
        await capi.get("replicationcontrollers", "orph", ns)
        raise AssertionError("the orphan-deleted RC is still there")
    assert running_ready(await capi.get("pods", orphan, ns))
    await cli(cluster.url, "delete", "pod", orphan, "-n", ns)


async def _none(api: Any, ns: str, app: str) -> bool:
    return not await pods(api, ns, app)


async def test_quota_rejects_the_pod_past_the_limit(
    cluster: Cluster, capi: Any, ns: str, tmp_path: Path
) -> None:
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "two-pods"},
        "spec": {"hard": {"pods": "2"}},
    }
    await capi.create("resourcequotas", quota, namespace=ns)
    spec = {"nodeSelector": {"e2e": "nowhere"}, "containers": [container()]}  # never runs: no container

    def manifest(name: str) -> str:
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
        )
        return str(path)

    for name in ("p1", "p2"):
        code, out, err = await cli(cluster.url, "create", "-f", manifest(name), "-n", ns)
        assert (code, out) == (0, f"pod/{name} created\n"), err
    code, out, err = await cli(cluster.url, "create", "-f", manifest("p3"), "-n", ns)
    assert code == 1 and out == ""
    line = err.strip()
    assert line.startswith(
        'Error from server (Forbidden): pods "p3" is forbidden: exceeded quota: two-pods'
    ), line
    assert "pods=1" in line and "pods=2" in line
    assert len(line.splitlines()) == 1

    async def used() -> bool:
        q = await capi.get("resourcequotas", "two-pods", ns)
        return q.get("status", {}).get("used", {}).get("pods") == "2"

    await wait(used, 15, "the quota's status to show 2 pods used")


async def test_namespace_deletion_removes_everything(cluster: Cluster, capi: Any) -> None:
    ns = "doomed"
    await capi.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await capi.create("replicationcontrollers", rc("inside", 1), namespace=ns)
    await capi.create(
        "configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "b"}},
        namespace=ns,
    )
    await wait_running(capi, ns, "inside", 1)

    code, out, err = await cli(cluster.url, "delete", "namespace", ns, "--wait=false")
    assert (code, out) == (0, f'namespace "{ns}" deleted\n'), err
    refused: list[str] = []
    terminating = False
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            obj = await capi.get("namespaces", ns)
        except NotFound:
            break
        if obj.get("status", {}).get("phase") == "Terminating":
            terminating = True
            if not refused:
                try:
                    await capi.create(
                        "configmaps",
                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}},
                        namespace=ns,
                    )
                except Forbidden as exc:
                    refused.append(exc.message)
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"namespace {ns} still there after 40 s")
    assert terminating, "the namespace was seen Terminating"
    assert refused and "because it is being terminated" in refused[0], refused
    assert not (await capi.list("pods", ns))["items"]
    assert not (await capi.list("configmaps", ns))["items"]
    assert not (await capi.list("replicationcontrollers", ns))["items"]


async def test_cronjob_fires_on_a_one_minute_schedule(cluster: Cluster, capi: Any) -> None:
    deadline = cluster.cronjob_created + 75
    budget = max(5.0, deadline - time.monotonic())

    async def fired() -> dict[str, Any] | None:
        for j in (await capi.list("jobs", "cron"))["items"]:
            refs = j["metadata"].get("ownerReferences") or []
            done = any(c["type"] == "Complete" for c in j.get("status", {}).get("conditions") or [])
            if any(r.get("kind") == "CronJob" and r.get("name") == "minutely" for r in refs) and done:
                return j
        return None

    job = await wait(
        fired, budget, "a Job of the CronJob, completed, within 75 s of its creation", interval=0.5
    )
    assert job["metadata"]["name"].startswith("minutely-")
    cj = await capi.get("cronjobs", "minutely", "cron")
    assert cj["status"].get("lastScheduleTime")
    assert job["status"].get("succeeded") == 1
    # (its pod's logs may be gone: the drain test evicts finished pods too, as kubectl's does)
    code, out, err = await cli(cluster.url, "get", "cronjobs", "-n", "cron")
    assert code == 0 and out.splitlines()[1].split()[:2] == ["minutely", "*/1"], (out, err)
    await cli(cluster.url, "delete", "cronjob", "minutely", "-n", "cron")
