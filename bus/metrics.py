"""Prometheus metrics: the process's registry, the bus-level metrics, and the ``/metrics`` server.

Every jetkube process (``jetkube up``, ``controlplane``, ``kubelet``, ``hollow-nodes``) keeps its
metrics in prometheus_client's default registry (one per process, which also carries the
``process_*`` and ``python_*`` collectors) and, given ``--metrics-port``, serves them as
Prometheus text on ``http://<host>:<port>/metrics``. The names are a public interface (the
README's Observability section lists them). This module holds the metrics of the bus layer (the
api's requests and the NATS connection); actors/metrics defines the actors' ones (workqueues,
scheduler, kubelet) on the same registry, so ``bus`` never imports ``actors``.

Cost: label children are looked up once and cached (:class:`RequestMetrics` keeps a dict of
them), so observing one api request is two lock-protected increments and no allocation beyond the
key tuple. The HTTP server is prometheus_client's own, on a daemon thread: a scrape never runs on
the event loop (collectors that read asyncio objects only read sizes).

Lifecycle: :meth:`MetricsServer.start` binds at once (a port in use is a ``BadRequest`` naming
it, before anything else starts); :meth:`MetricsServer.stop` shuts the thread down.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server

from schemas.errors import BadRequest

log = structlog.get_logger(__name__)

#: the ports each process serves on by default, when started by hand (0 = off). Different ports,
#: so a control plane and a kubelet on one host do not collide (Kubernetes' own: 10249 kube-proxy,
#: 10257 controller-manager, 10259 scheduler; jetkube's are its own).
DEFAULT_PORT_UP = 10249
DEFAULT_HOST = "127.0.0.1"

# Latency buckets from 0.5 ms (the api answers a get in about 1 ms) to 10 s.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

API_REQUESTS = Counter(
    "jetkube_api_requests_total",
    "Requests the api actor answered, by verb, resource and HTTP-like status code.",
    ["verb", "resource", "code"],
)
API_LATENCY = Histogram(
    "jetkube_api_request_duration_seconds",
    "Time the api actor took to answer a request (handler only, not the NATS round trip).",
    ["verb", "resource"],
    buckets=LATENCY_BUCKETS,
)
NATS_DISCONNECTS = Counter(
    "jetkube_nats_disconnects_total", "Times this process's NATS connection was lost.", ["connection"]
)
NATS_RECONNECTS = Counter(
    "jetkube_nats_reconnects_total",
    "Times this process's NATS connection was re-established.",
    ["connection"],
)


class RequestMetrics:
    """Observes api requests with cached label children (no lookup in the registry per request)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}

    def observe(self, verb: str, resource: str, code: int, seconds: float) -> None:
        key = (verb, resource, code)
        counter = self._counts.get(key)
        if counter is None:
            counter = self._counts[key] = API_REQUESTS.labels(verb, resource, str(code))
        counter.inc()
        hkey = (verb, resource)
        hist = self._latency.get(hkey)
        if hist is None:
            hist = self._latency[hkey] = API_LATENCY.labels(verb, resource)
        hist.observe(seconds)


REQUESTS = RequestMetrics()


def nats_disconnected(connection: str) -> None:
    NATS_DISCONNECTS.labels(connection).inc()


def nats_reconnected(connection: str) -> None:
    NATS_RECONNECTS.labels(connection).inc()


@dataclass
class MetricsServer:
    """``/metrics`` over HTTP on a daemon thread (prometheus_client's server)."""

    host: str
    port: int
    _server: Any = None
    _thread: threading.Thread | None = None

    @classmethod
    def start(cls, port: int, host: str = DEFAULT_HOST) -> MetricsServer | None:
        """Serve on ``host:port``; None when ``port`` is 0 (metrics off)."""
        if not port:
            return None
        if not 0 < port < 65536:
            raise BadRequest(f"--metrics-port: must be between 0 and 65535, got {port}")
        try:
            server, thread = start_http_server(port, addr=host, registry=REGISTRY)
        except OSError as err:
            raise BadRequest(
                f"cannot serve metrics on {host}:{port} ({err.strerror or err}): "
                "pick another --metrics-port, or 0 to turn metrics off"
            ) from err
        log.info("metrics.serving", url=f"http://{host}:{port}/metrics")
        return cls(host=host, port=port, _server=server, _thread=thread)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def serve_metrics(port: int, host: str = DEFAULT_HOST, *, best_effort: bool = False) -> MetricsServer | None:
    """Start serving ``/metrics`` (None when ``port`` is 0); stop it with ``.stop()``.

    ``best_effort`` (a default port nobody asked for, as ``jetkube up``'s): a taken port is logged
    and the process goes on without metrics, instead of failing."""
    try:
        return MetricsServer.start(port, host)
    except BadRequest as err:
        if not best_effort:
            raise
        log.warning("metrics.not_served", error=err.message)
        return None


@contextlib.contextmanager
def metrics_served(port: int, host: str = DEFAULT_HOST) -> Iterator[MetricsServer | None]:
    """``/metrics`` served for the duration of a ``with`` block (nothing when ``port`` is 0)."""
    server = serve_metrics(port, host)
    try:
        yield server
    finally:
        if server is not None:
            server.stop()
