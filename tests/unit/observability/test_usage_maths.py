"""The pure parts of ``top``: CPU rates and working sets from the engine's stats, kubectl's
columns, and the kubelet's stats reply read back."""

from __future__ import annotations

import pytest

from actors.kubelet.stats import (
    ContainerUsage,
    cpu_rate_nanocores,
    cumulative_cpu_ns,
    group_by_pod,
    summary_reply,
    working_set_bytes,
)
from actors.kubelet.types import ContainerSummary
from actors.metrics.top import NodeTop, allocatable, format_cpu, format_memory, parse_summary, percent


@pytest.mark.parametrize(
    ("prev", "usage", "now", "age", "want"),
    [
        ((1_000_000_000, 10.0), 1_500_000_000, 12.0, None, 250_000_000),  # 0.5 s of CPU in 2 s: 250m
        ((1_000_000_000, 10.0), 3_000_000_000, 11.0, None, 2_000_000_000),  # two busy cores
        ((5_000, 10.0), 4_000, 12.0, None, 0),  # counter went back (a restart): no negative rate
        ((5_000, 10.0), 6_000, 10.0, None, 0),  # no time passed
        (None, 2_000_000_000, 50.0, 4.0, 500_000_000),  # first sample: the average over its age
        (None, 2_000_000_000, 50.0, None, 0),  # first sample, age unknown
    ],
)
def test_cpu_rate(prev, usage, now, age, want) -> None:
    assert cpu_rate_nanocores(prev, usage, now, age) == want


@pytest.mark.parametrize(
    ("memory_stats", "want"),
    [
        ({"usage": 10_000, "stats": {"total_inactive_file": 4_000, "cache": 6_000}}, 6_000),  # cgroup v1
        ({"usage": 10_000, "stats": {"inactive_file": 1_000}}, 9_000),  # cgroup v2
        ({"usage": 10_000}, 10_000),
        ({"usage": 1_000, "stats": {"total_inactive_file": 4_000}}, 0),  # never negative
        ({}, None),  # a stopped container has no figures
    ],
)
def test_working_set(memory_stats, want) -> None:
    assert working_set_bytes({"memory_stats": memory_stats}) == want


def test_cumulative_cpu() -> None:
    assert cumulative_cpu_ns({"cpu_stats": {"cpu_usage": {"total_usage": 851537097}}}) == 851537097
    assert cumulative_cpu_ns({"cpu_stats": {}}) is None


@pytest.mark.parametrize(
    ("nanocores", "want"),
    [(0, "0m"), (1, "1m"), (250_000_000, "250m"), (1_000_000, "1m"), (2_000_000_001, "2001m")],
)
def test_format_cpu(nanocores: int, want: str) -> None:
    assert format_cpu(nanocores) == want


@pytest.mark.parametrize(("nbytes", "want"), [(0, "0Mi"), (512 * 2**20, "512Mi"), (2**20 - 1, "0Mi")])
def test_format_memory(nbytes: int, want: str) -> None:
    assert format_memory(nbytes) == want


def test_percent_rounds_down_and_knows_no_total() -> None:
    assert percent(250, 2000) == "12%"
    assert percent(1999, 2000) == "99%"
    assert percent(10, 0) == "<unknown>"


def test_node_row_as_kubectl_prints_it() -> None:
    node = NodeTop("n1", 250_000_000, 512 * 2**20, 2000, 16 * 2**30)
    assert node.row() == ["n1", "250m", "12%", "512Mi", "3%"]
    assert NodeTop("n2", None, None, 2000, 2**30).row() == ["n2"] + ["<unknown>"] * 4


def test_allocatable_prefers_allocatable_then_capacity() -> None:
    node = {
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi"},
            "allocatable": {"cpu": "3500m", "memory": "7Gi"},
        }
    }
    assert allocatable(node) == (3500, 7 * 2**30)
    assert allocatable({"status": {"capacity": {"cpu": "2", "memory": "1Gi"}}}) == (2000, 2**30)
    assert allocatable({}) == (0, 0)


def _summary(ns: str, pod: str, uid: str, container: str) -> ContainerSummary:
    return ContainerSummary(
        id=f"{uid}-{container}",
        name="",
        type="container",
        node="n1",
        namespace=ns,
        pod_name=pod,
        pod_uid=uid,
        container_name=container,
        attempt=0,
        state="running",
        created=None,
        image="",
        image_id="",
    )


def test_summary_round_trip_sums_pods_and_node() -> None:
    from datetime import UTC, datetime

    pods = group_by_pod(
        [
            (_summary("b", "web", "u2", "app"), ContainerUsage("app", 100_000_000, 2**20)),
            (_summary("a", "db", "u1", "main"), ContainerUsage("main", 5_000_000, 3 * 2**20)),
            (_summary("b", "web", "u2", "sidecar"), ContainerUsage("sidecar", 50_000_000, 2**20)),
        ]
    )
    assert [(p.namespace, p.name) for p in pods] == [("a", "db"), ("b", "web")]
    reply = summary_reply("n1", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), pods)
    cpu, memory, taken, parsed = parse_summary("n1", reply)
    assert (cpu, memory, taken) == (155_000_000, 5 * 2**20, "2026-01-02T03:04:05Z")
    web = parsed[1]
    assert (web.name, web.cpu_nanocores, [c.name for c in web.containers]) == (
        "web",
        150_000_000,
        ["app", "sidecar"],
    )


def test_no_sample_yet_is_no_figures() -> None:
    assert parse_summary("n1", summary_reply("n1", None, [])) == (None, None, None, [])
