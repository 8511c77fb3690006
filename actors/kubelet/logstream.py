"""Publishing container log lines to the ``JETKUBE_LOGS`` stream, for opted-in namespaces.

Lifecycle: :class:`LogStreamer` is a kubelet agent (``kubelet:<node>:logstream``). Every
``interval`` seconds it looks at the namespaces of this node's pods (the kubelet's own informer,
no engine call), asks the api which of them opt in (label or annotation
``logging.jetkube.io/stream: "true"`` on the Namespace; answers cached for ``NAMESPACE_TTL``),
and, when some do, lists this node's running app containers and keeps exactly one follower task
per container of an opted-in namespace. A follower reads the engine's log stream (both stdout and
stderr, with timestamps; actors/kubelet/logframes.py) and publishes each line on
``jetkube.logs.<namespace>.<pod>.<container>`` (bus/logs.py has the payload). It ends when the
container stops (the engine ends the stream); a namespace that opts out has its followers
cancelled; stopping the kubelet cancels them all.

No duplicates, nothing lost across a kubelet restart: the time of the last line JetStream
acknowledged is kept per container and saved each round in ``<state dir>/logstream.json``; a
follower asks the engine only for lines since that time and skips any at or before it. (The
kubelet reads no stream: its NATS user may only publish there, so a node cannot read other nodes'
logs.) A line is published with a ``Nats-Msg-Id`` as well, so JetStream drops a repeat within its
duplicate window (two minutes), which covers the lines acknowledged after the last save. Publishes
are pipelined (bus/pipeline.py) with at most ``WINDOW`` acks outstanding; a publish that fails ends
the follower, which the next round starts again from the last acknowledged line. The stream itself
is created by the control plane (the api's bootstrap); until it exists the streamer waits.

Trade-offs: stdout and stderr of one container share one subject; a line logged in the second
before a restart may be published after lines of the other stream that came later. The engine's
log is the source, so a line the engine dropped (log rotation) is not published.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import nats.errors
import nats.js.errors
import structlog

from actors.kubelet import labels as L
from actors.kubelet.logframes import since_param, time_ns
from actors.kubelet.types import ContainerSummary
from actors.metrics.instruments import LOG_LINES_PUBLISHED
from actors.runtime.supervisor import guarded_task
from bus.interfaces import ObjectApi
from bus.logs import STREAM, encode_line, log_subject, opted_in
from bus.pipeline import pipeline_for
from schemas.errors import JetkubeError, NotFound

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL = 2.0
NAMESPACE_TTL = 10.0
WINDOW = 256
ACK_TIMEOUT = 10.0


def namespaces_of(pod_keys: Iterable[str]) -> set[str]:
    return {key.partition("/")[0] for key in pod_keys}


def wanted_followers(containers: Iterable[ContainerSummary], opted: set[str]) -> dict[str, ContainerSummary]:
    """The running app containers whose logs go to the stream, by container id."""
    return {c.id: c for c in containers if c.running and c.type == L.TYPE_CONTAINER and c.namespace in opted}


def load_positions(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_positions(path: Path, positions: dict[str, int]) -> None:
    """Written to a temporary file then renamed, so a crash leaves the old or the new file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(positions))
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("logstream.positions_not_saved", path=str(path), error=str(exc))


class LogStreamer:
    def __init__(
        self,
        bus: Any,
        api: ObjectApi,
        runtime: Any,
        node_name: str,
        pod_keys: Callable[[], Iterable[str]],
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.bus = bus
        self.api = api
        self.runtime = runtime
        self.node_name = node_name
        self.pod_keys = pod_keys
        self.interval = interval
        self.followers: dict[str, asyncio.Task[None]] = {}
        self._namespaces: dict[str, tuple[bool, float]] = {}
        self._published = LOG_LINES_PUBLISHED.labels(node_name)
        self.positions_file = Path(runtime.state_dir) / "logstream.json"
        self.positions: dict[str, int] = {}  # container id -> time (ns) of its last acknowledged line
        self._saved: dict[str, int] = {}
        self._stream_seen = False

    async def run(self) -> None:
        self.positions = load_positions(self.positions_file)
        self._saved = dict(self.positions)
        try:
            while True:
                try:
                    await self.reconcile()
                except JetkubeError as exc:
                    log.info("logstream.round_failed", node=self.node_name, error=exc.message)
                self.save()
                await asyncio.sleep(self.interval)
        finally:
            tasks = list(self.followers.values())
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            self.followers.clear()
            self.save()

    def save(self) -> None:
        if self.positions != self._saved:
            save_positions(self.positions_file, self.positions)
            self._saved = dict(self.positions)

    async def stream_ready(self) -> bool:
        """Whether JETKUBE_LOGS exists (the control plane makes it); checked until it does."""
        if not self._stream_seen:
            try:
                await self.bus.js.stream_info(STREAM)
                self._stream_seen = True
            except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
                log.info("logstream.no_stream_yet", node=self.node_name, error=str(exc) or type(exc).__name__)
        return self._stream_seen

    async def opted(self, namespace: str) -> bool:
        now = time.monotonic()
        cached = self._namespaces.get(namespace)
        if cached is not None and now - cached[1] < NAMESPACE_TTL:
            return cached[0]
        try:
            value = opted_in(await self.api.get("namespaces", namespace))
        except NotFound:
            value = False
        self._namespaces[namespace] = (value, now)
        return value

    async def reconcile(self) -> None:
        """One round: start the followers that are missing, stop those no longer wanted."""
        for cid in [c for c, t in self.followers.items() if t.done()]:
            del self.followers[cid]
        opted = {ns for ns in namespaces_of(self.pod_keys()) if await self.opted(ns)}
        wanted: dict[str, ContainerSummary] = {}
        if opted and await self.stream_ready():
            listed = await self.runtime.list(self.node_name, include_dead=False, type_=L.TYPE_CONTAINER)
            wanted = wanted_followers(listed, opted)
            for cid in [c for c in self.positions if c not in wanted]:
                del self.positions[cid]  # the container stopped: its log is complete
        for cid in [c for c in self.followers if c not in wanted]:
            self.followers.pop(cid).cancel()
        for cid, summary in wanted.items():
            if cid not in self.followers:
                self.followers[cid] = guarded_task(f"logstream:{cid[:12]}", self.follow(summary))

    async def follow(self, c: ContainerSummary) -> None:
        subject = log_subject(c.namespace, c.pod_name, c.container_name)
        after = self.positions.get(c.id, 0)
        pipeline = pipeline_for(self.bus.nc)
        pending: list[asyncio.Future[int]] = []
        base = {
            "node": self.node_name,
            "namespace": c.namespace,
            "pod": c.pod_name,
            "container": c.container_name,
            "containerId": c.id,
        }
        log.debug("logstream.following", subject=subject, container=c.id[:12], after=after)
        try:
            records = self.runtime.log_records(c.id, since=since_param(after) if after else None)
            async with contextlib.aclosing(records):
                async for stream, stamp, line in records:
                    ns = time_ns(stamp)
                    if after and ns <= after:
                        continue
                    data = encode_line({"time": stamp, "stream": stream, **base, "line": line})
                    headers = {"Nats-Msg-Id": f"{c.id[:16]}-{ns}-{stream}"}
                    fut = await pipeline.publish(subject, data, headers, urgent=False)
                    fut.add_done_callback(functools.partial(self._acked, c.id, ns))
                    pending.append(fut)
                    if len(pending) >= WINDOW:
                        await self._settle(pipeline, pending)
            await self._settle(pipeline, pending)
        except JetkubeError as exc:
            log.info("logstream.follow_ended", subject=subject, error=exc.message)
        finally:
            for fut in pending:
                fut.cancel()

    def _acked(self, cid: str, ns: int, fut: asyncio.Future[int]) -> None:
        """JetStream has the line: the follower may resume after it (acks arrive in order)."""
        if not fut.cancelled() and fut.exception() is None and ns > self.positions.get(cid, 0):
            self.positions[cid] = ns

    async def _settle(self, pipeline: Any, pending: list[asyncio.Future[int]]) -> None:
        for fut in pending:
            await pipeline.ack(fut, ACK_TIMEOUT)
        self._published.inc(len(pending))
        pending.clear()
