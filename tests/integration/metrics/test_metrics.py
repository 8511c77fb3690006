"""Prometheus metrics over HTTP, from a real control plane on a real nats-server.

A control plane (api, scheduler, controllers) and one hollow node run in this process with
``/metrics`` served on a free port; the test does what a user does (create a ReplicaSet, ask for a
missing object, bounce the NATS server) and reads the scrape as Prometheus would. Counters are
per process, so the assertions are on increases over the values before the test.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bus.client import ApiClient
from bus.connection import Bus
from bus.embedded import EmbeddedNats, free_port
from bus.metrics import MetricsServer
from bus.store import Store
from schemas.errors import NotFound
from tests.waiting import wait_for as eventually

ROOT = Path(__file__).resolve().parents[3]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict, metric: str, /, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def before(metric: str, /, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


@pytest.fixture
async def metrics() -> AsyncIterator[MetricsServer]:
    server = MetricsServer.start(free_port())
    assert server is not None
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def cluster(bus: Bus, store: Store) -> AsyncIterator[ApiClient]:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.hollow.fleet import HollowFleet, HollowSettings
    from actors.runtime.supervisor import Supervisor

    sup = Supervisor("metrics-test")
    start_control_plane(
        sup, bus, store, ControlPlaneSettings(retry_period=0.5, lease_duration=3, renew_deadline=2)
    )
    api = ApiClient(bus)

    async def serving() -> bool:
        try:
            await api.get("namespaces", "default")
            return True
        except Exception:
            return False

    await eventually(serving, 30, "the api")
    fleet = HollowFleet(bus, HollowSettings(count=1, prefix=f"metrics-{free_port()}-"))
    fleet.start(sup)
    await fleet.ready(timeout=30)
    try:
        yield api
    finally:
        await sup.stop()


async def test_api_scheduler_and_workqueue_metrics_over_http(
    cluster: ApiClient, metrics: MetricsServer
) -> None:
    api = cluster
    created = before("jetkube_api_requests_total", verb="create", resource="replicasets", code="201")
    missing = before("jetkube_api_requests_total", verb="get", resource="limitranges", code="404")
    scheduled = before("jetkube_scheduler_schedule_attempts_total", result="scheduled")
    rs_adds = before("jetkube_workqueue_adds_total", name="replicaset-controller")
    pod_creates = before("jetkube_api_request_duration_seconds_count", verb="create", resource="pods")
    pods_scheduled = before("jetkube_scheduler_pod_scheduling_duration_seconds_count")

    labels = {"app": "metered"}
    await api.create(
        "replicasets",
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "metered", "namespace": "default"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
                },
            },
        },
    )
    with pytest.raises(NotFound):
        await api.get("limitranges", "nope", "default")

    async def bound() -> bool:
        pods = (await api.list("pods", "default", label_selector="app=metered"))["items"]
        return len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods)

    await eventually(bound, 30, "two pods bound")

    async def scraped() -> dict | None:
        samples = await asyncio.to_thread(scrape, metrics.url)
        ok = value(samples, "jetkube_scheduler_schedule_attempts_total", result="scheduled") >= scheduled + 2
        return samples if ok else None

    samples = await eventually(scraped, 20, "two scheduled attempts in the scrape")
    assert (
        value(samples, "jetkube_api_requests_total", verb="create", resource="replicasets", code="201")
        == created + 1
    )
    assert (
        value(samples, "jetkube_api_requests_total", verb="get", resource="limitranges", code="404")
        == missing + 1
    )
    assert (
        value(samples, "jetkube_api_request_duration_seconds_count", verb="create", resource="pods")
        >= pod_creates + 2
    )
    assert value(samples, "jetkube_workqueue_adds_total", name="replicaset-controller") > rs_adds
    assert ("jetkube_workqueue_depth", (("name", "replicaset-controller"),)) in samples
    assert value(samples, "jetkube_scheduler_batch_duration_seconds_count") >= 1
    assert value(samples, "jetkube_scheduler_binding_duration_seconds_count") >= 1
    # per pod, from entering the queue to the bind acknowledged
    assert value(samples, "jetkube_scheduler_pod_scheduling_duration_seconds_count") >= pods_scheduled + 2
    assert value(samples, "jetkube_scheduler_pod_scheduling_duration_seconds_sum") > 0
    assert value(samples, "process_resident_memory_bytes") > 0


async def test_nats_reconnects_are_counted(nats_server: EmbeddedNats, metrics: MetricsServer) -> None:
    bus = await Bus.connect(nats_server.url, name="metrics-reconnect-test")
    try:
        lost = before("jetkube_nats_disconnects_total", connection="metrics-reconnect-test")
        back = before("jetkube_nats_reconnects_total", connection="metrics-reconnect-test")
        await asyncio.to_thread(nats_server.stop)
        await asyncio.to_thread(nats_server.start)

        async def reconnected() -> dict | None:
            samples = await asyncio.to_thread(scrape, metrics.url)
            n = value(samples, "jetkube_nats_reconnects_total", connection="metrics-reconnect-test")
            return samples if n >= back + 1 else None

        samples = await eventually(reconnected, 30, "the reconnect in the scrape")
        assert (
            value(samples, "jetkube_nats_disconnects_total", connection="metrics-reconnect-test") >= lost + 1
        )
        await bus.nc.flush()  # and the connection works again
    finally:
        await bus.close()


def test_a_taken_metrics_port_is_one_clear_line() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli.main",
                "controlplane",
                "--server",
                "nats://127.0.0.1:1",
                "--metrics-port",
                str(port),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: cannot serve metrics on 127.0.0.1:{port} (Address already in use): "
        "pick another --metrics-port, or 0 to turn metrics off"
    )
