"""The actors' Prometheus instruments (the package docstring lists them)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bus.metrics import LATENCY_BUCKETS

WORKQUEUE_ADDS = Counter("jetkube_workqueue_adds_total", "Keys added to a workqueue.", ["name"])
WORKQUEUE_RETRIES = Counter(
    "jetkube_workqueue_retries_total", "Keys re-added to a workqueue after a failure (backoff).", ["name"]
)

SCHEDULE_ATTEMPTS = Counter(
    "jetkube_scheduler_schedule_attempts_total",
    "Scheduling attempts by result: scheduled, unschedulable, error (the bind failed).",
    ["result"],
)
SCHEDULE_BATCH = Histogram(
    "jetkube_scheduler_batch_duration_seconds",
    "Time to decide one batch of pending pods (filter and score, no I/O).",
    buckets=LATENCY_BUCKETS,
)
POD_SCHEDULING_DURATION = Histogram(
    "jetkube_scheduler_pod_scheduling_duration_seconds",
    "From a pod first entering the scheduling queue to its bind acknowledged, across attempts "
    "(kube-scheduler's scheduler_pod_scheduling_duration_seconds).",
    buckets=LATENCY_BUCKETS,
)
BINDING_LATENCY = Histogram(
    "jetkube_scheduler_binding_duration_seconds",
    "Time for one batch of binds to be acknowledged by the store.",
    buckets=LATENCY_BUCKETS,
)

POD_STARTS = Counter("jetkube_kubelet_pod_starts_total", "Pod sandboxes a kubelet started.", ["node"])
CONTAINER_STARTS = Counter(
    "jetkube_kubelet_container_starts_total", "Containers a kubelet started.", ["node"]
)
PROBE_FAILURES = Counter(
    "jetkube_kubelet_probe_failures_total",
    "Failed probe runs, by probe type (liveness, readiness, startup).",
    ["node", "probe"],
)
LOG_LINES_PUBLISHED = Counter(
    "jetkube_kubelet_log_lines_published_total",
    "Container log lines a kubelet published to the JETKUBE_LOGS stream.",
    ["node"],
)


class _QueueDepth(Collector):
    """``jetkube_workqueue_depth``: the ready keys of every live workqueue, summed per name."""

    def __init__(self) -> None:
        self._queues: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()

    def track(self, queue: Any) -> None:
        with self._lock:
            self._queues.add(queue)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "jetkube_workqueue_depth", "Keys ready to be taken from a workqueue.", labels=["name"]
        )
        with self._lock:
            queues = list(self._queues)
        depth: dict[str, int] = {}
        for q in queues:
            depth[q.name] = depth.get(q.name, 0) + q.depth
        for name, value in sorted(depth.items()):
            family.add_metric([name], value)
        yield family


QUEUE_DEPTH = _QueueDepth()
REGISTRY.register(QUEUE_DEPTH)


def track_queue(queue: Any) -> tuple[Any, Any]:
    """Register a workqueue for the depth gauge; its (adds, retries) counter children."""
    QUEUE_DEPTH.track(queue)
    return WORKQUEUE_ADDS.labels(queue.name), WORKQUEUE_RETRIES.labels(queue.name)
