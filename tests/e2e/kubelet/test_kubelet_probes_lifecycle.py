"""Probes, lifecycle hooks and termination, as a user sees them through the api."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prometheus_client import REGISTRY

from tests.e2e.kubelet.kubelet_fixtures import KubeletHandle, cstatus, running, seed_example

BUSYBOX = "gcr.io/google_containers/busybox"


def metric(name: str, **labels: str) -> float:
    """A sample of this process's Prometheus registry (the kubelet runs in the test's process)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def ready(p: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])


async def test_seed_liveness_exec_restarts_the_container(kubelet: KubeletHandle) -> None:
    manifest = seed_example("pod-liveness-exec.yaml")
    # the seed's probe timings are kept; only the grace period is short, so that the kill does not
    # wait 30 s for a shell (PID 1, no SIGTERM handler) to ignore SIGTERM
    manifest["spec"]["terminationGracePeriodSeconds"] = 1
    await kubelet.create(manifest)
    t0 = time.monotonic()
    await kubelet.wait_pod("liveness-exec", running, what="Running")
    p = await kubelet.wait_pod(
        "liveness-exec",
        lambda p: cstatus(p, "liveness").get("restartCount", 0) >= 1,
        timeout=70,
        what="a restart",
    )
    took = time.monotonic() - t0
    assert took >= 25, took  # healthy for 10 s, probes from 15 s every 10 s, 3 failures
    ev = await kubelet.wait_event("liveness-exec", "Unhealthy")
    assert ev["type"] == "Warning" and ev["message"].startswith("Liveness probe failed: ")
    await kubelet.wait_event("liveness-exec", "Killing", contains="failed liveness probe, will be restarted")
    assert cstatus(p, "liveness")["lastState"]["terminated"]["exitCode"] in (137, 143)
    # what the kubelet's /metrics shows for it (this node ran only this pod)
    node = kubelet.node
    assert metric("jetkube_kubelet_pod_starts_total", node=node) == 1
    assert metric("jetkube_kubelet_container_starts_total", node=node) >= 2  # the start, the restart
    assert metric("jetkube_kubelet_probe_failures_total", node=node, probe="liveness") >= 3


async def test_seed_liveness_http_restarts_the_container(kubelet: KubeletHandle) -> None:
    manifest = seed_example("pod-liveness-http.yaml")
    manifest["spec"]["terminationGracePeriodSeconds"] = 1
    await kubelet.create(manifest)
    await kubelet.wait_pod("liveness-http", running, what="Running")
    await kubelet.wait_pod(
        "liveness-http",
        lambda p: cstatus(p, "liveness").get("restartCount", 0) >= 1,
        timeout=70,
        what="a restart",
    )
    ev = await kubelet.wait_event("liveness-http", "Unhealthy")
    assert "HTTP probe failed with statuscode: 500" in ev["message"]


async def test_readiness_probe_drives_ready(kubelet: KubeletHandle) -> None:
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sh", "-c", "sleep 1; touch /tmp/ready; sleep 3600"],
        "ports": [{"name": "web", "containerPort": 8080}],
        "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1},
    }
    web = {
        "name": "web",
        "image": BUSYBOX,
        "command": ["httpd", "-f", "-p", "8080", "-h", "/etc"],
        "readinessProbe": {"httpGet": {"path": "/passwd", "port": 8080}, "periodSeconds": 1},
        "livenessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
    }
    await kubelet.create({"metadata": {"name": "rdy"}, "spec": {"containers": [c, web]}})
    p = await kubelet.wait_pod("rdy", running, what="Running")
    assert not ready(p) or cstatus(p, "c")["ready"]
    p = await kubelet.wait_pod("rdy", ready, timeout=20, what="Ready")
    assert cstatus(p, "c")["ready"] and cstatus(p, "web")["ready"]
    await kubelet.runtime.exec(cstatus(p, "c")["containerID"].removeprefix("docker://"), ["rm", "/tmp/ready"])
    p = await kubelet.wait_pod("rdy", lambda p: not ready(p), timeout=20, what="not Ready")
    assert not cstatus(p, "c")["ready"] and cstatus(p, "c")["restartCount"] == 0


async def test_post_start_and_pre_stop_hooks(kubelet: KubeletHandle, tmp_path: Path) -> None:
    host = tmp_path / "hooks"
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sh", "-c", "trap 'echo term >> /host/log; exit 0' TERM; while true; do sleep 0.1; done"],
        "volumeMounts": [{"name": "h", "mountPath": "/host"}],
        "lifecycle": {
            "postStart": {"exec": {"command": ["sh", "-c", "echo poststart >> /host/log"]}},
            "preStop": {"exec": {"command": ["sh", "-c", "echo prestop >> /host/log; sleep 1"]}},
        },
    }
    vol = {"name": "h", "hostPath": {"path": str(host), "type": "DirectoryOrCreate"}}
    await kubelet.create(
        {
            "metadata": {"name": "hooks"},
            "spec": {"containers": [c], "volumes": [vol], "terminationGracePeriodSeconds": 10},
        }
    )
    await kubelet.wait_pod("hooks", running, what="Running")
    deadline = time.monotonic() + 10
    while not (host / "log").exists() or "poststart" not in (host / "log").read_text():
        assert time.monotonic() < deadline, "postStart did not run"
        await asyncio.sleep(0.1)
    t0 = time.monotonic()
    await kubelet.api.delete("pods", "hooks", "default")
    await kubelet.wait_gone("hooks", timeout=20)
    assert (host / "log").read_text().split() == ["poststart", "prestop", "term"]
    assert time.monotonic() - t0 < 9  # the container exited on SIGTERM; nobody waited for the grace
    assert not await kubelet.containers("hooks", type_=None)
    await kubelet.wait_event("hooks", "Killing", contains="Stopping container c")


async def test_failed_post_start_kills_the_container(kubelet: KubeletHandle) -> None:
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sleep", "3600"],
        "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "exit 1"]}}},
    }
    await kubelet.create(
        {"metadata": {"name": "psfail"}, "spec": {"containers": [c], "terminationGracePeriodSeconds": 1}}
    )
    await kubelet.wait_event("psfail", "FailedPostStartHook", timeout=30)
    await kubelet.wait_pod(
        "psfail", lambda p: cstatus(p, "c").get("restartCount", 0) >= 1, timeout=30, what="restart"
    )


async def test_grace_period_ends_with_sigkill(kubelet: KubeletHandle) -> None:
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"],
    }
    await kubelet.create(
        {"metadata": {"name": "stubborn"}, "spec": {"containers": [c], "terminationGracePeriodSeconds": 2}}
    )
    await kubelet.wait_pod("stubborn", running, what="Running")
    t0 = time.monotonic()
    await kubelet.api.delete("pods", "stubborn", "default")
    await kubelet.wait_gone("stubborn", timeout=20)
    took = time.monotonic() - t0
    assert 1.5 <= took < 10, took
