"""Feeding and serving the metrics history (actors/metrics/history.py).

Lifecycle, in a process with a supervisor and a bus (``jetkube up``; ``jetkube dashboard``)::

    collector = HistoryCollector(api, bus, History(window=3600, interval=10))
    collector.listeners.append(callback)      # called with each round's new Samples (the dashboard)
    collector.start(sup, serve=True)          # agents: metrics.history.collect [, .serve]

The collect agent asks every Ready node's kubelet for its last sample once per ``interval`` (the
kubelets' own ``--stats-interval``, 10 s by default), exactly as ``jetkube top`` does
(:func:`actors.metrics.top.collect_top`: concurrent, bounded, one time-out per round), records
each at the time the kubelet took it (so a sample read twice is kept once) and sweeps away series
silent for a whole window. Nodes labelled ``type=hollow`` are skipped: simulated kubelets sample
nothing.

The serve agent answers ``jetkube.metrics.history`` (request/reply, payload
``{"kinds", "namespace", "names", "since"}``, reply :meth:`History.query`'s dict), which is what
``jetkube top --history`` reads. Only the control plane's identity may answer it; a process
without that right (a ``jetkube dashboard`` run with admin credentials) keeps its history for its
own page and does not serve.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from actors.metrics.history import History, Sample
from actors.metrics.top import DEFAULT_TIMEOUT, collect_top, is_ready
from schemas.errors import BadRequest, JetkubeError

log = structlog.get_logger(__name__)

HISTORY_SUBJECT = "jetkube.metrics.history"
HOLLOW_LABEL = ("type", "hollow")
Listener = Callable[[list[Sample]], None]


def sample_time(taken: str | None, fallback: float) -> float:
    """The kubelet's RFC 3339 sample time as epoch seconds (``fallback`` when absent or bad)."""
    if not taken:
        return fallback
    try:
        return datetime.fromisoformat(taken.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return fallback


def query_args(payload: dict[str, Any]) -> dict[str, Any]:
    """A history request's payload as :meth:`History.query`'s keywords; BadRequest naming the field."""
    kinds = payload.get("kinds") or ["node", "pod"]
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise BadRequest(f"kinds: Invalid value: {kinds!r}: must be a list of node, pod, container")
    since = payload.get("since")
    if since is not None and (isinstance(since, bool) or not isinstance(since, int | float) or since <= 0):
        raise BadRequest(f"since: Invalid value: {since!r}: must be a positive number of seconds")
    names = payload.get("names")
    if names is not None and not isinstance(names, list):
        raise BadRequest(f"names: Invalid value: {names!r}: must be a list of series keys")
    namespace = payload.get("namespace") or None
    return {"kinds": kinds, "namespace": namespace, "names": names, "since": since}


class HistoryCollector:
    def __init__(self, api: Any, bus: Any, history: History, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.api = api
        self.bus = bus
        self.history = history
        self.timeout = min(timeout, history.interval)
        self.listeners: list[Listener] = []
        self.rounds = 0

    def start(self, sup: Any, *, serve: bool = False) -> None:
        sup.spawn("metrics.history.collect", self.collect)
        if serve:
            sup.spawn("metrics.history.serve", self.serve)

    async def collect_once(self) -> list[Sample]:
        """One round: every (real) Ready node's last sample into the history; the new points."""
        listing = await self.api.list("nodes")
        nodes = [
            str(n["metadata"]["name"])
            for n in listing.get("items") or []
            if is_ready(n) and (n["metadata"].get("labels") or {}).get(HOLLOW_LABEL[0]) != HOLLOW_LABEL[1]
        ]
        now = time.time()
        data = await collect_top(self.api, self.bus, nodes=nodes, timeout=self.timeout)
        by_node: dict[str, list[Any]] = {}
        for pod in data.pods:
            by_node.setdefault(pod.node, []).append(pod)
        new: list[Sample] = []
        for node in data.nodes:
            if node.cpu_nanocores is None or node.memory_bytes is None:
                continue
            t = sample_time(node.sampled_at, now)
            new.extend(
                self.history.record_node(
                    node.name, t, node.cpu_nanocores, node.memory_bytes, by_node.get(node.name, [])
                )
            )
        self.history.sweep(now)
        self.rounds += 1
        return new

    async def collect(self) -> None:
        """Agent: one round per interval, forever; a failed round is logged and the next one comes."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                new = await self.collect_once()
            except JetkubeError as err:
                log.info("metrics.history.round_failed", error=err.message)
                new = []
            for listener in list(self.listeners):
                try:
                    listener(new)
                except Exception:
                    log.exception("metrics.history.listener_failed")
            await asyncio.sleep(max(0.0, self.history.interval - (loop.time() - started)))

    async def handle(self, verb: str, payload: dict[str, Any], _msg: Any) -> dict[str, Any]:
        if verb != "history":
            raise BadRequest(f"verb: Unsupported value: {verb!r}: supported values: history")
        try:
            return self.history.query(now=time.time(), **query_args(payload))
        except ValueError as err:
            raise BadRequest(str(err)) from None

    async def serve(self) -> None:
        """Agent: answer ``jetkube.metrics.history`` (a queue group: replicas share it)."""
        from bus.rpc import Responder

        await Responder(
            self.bus, "jetkube.metrics.*", self.handle, queue="metrics-history", concurrency=4, name="metrics"
        ).run()
