"""The CPU and memory history of nodes, pods and containers: a compact ring per series, in memory.

    history = History(window=3600.0, interval=10.0)
    history.record("pod", "default/web-1", t=1765000000.0, cpu_nanocores=25_000_000, memory_bytes=...)
    history.points("pod", "default/web-1")        -> [Point(t, cpu_milli, memory_bytes), ...] oldest first
    history.query(kinds=("node", "pod"), namespace="default", since=600.0)   -> JSON-ready dict

Who feeds it: :class:`actors.metrics.collector.HistoryCollector` records every node's last kubelet
sample (actors/kubelet/stats.py) once per kubelet sampling interval, as metrics-server scrapes. Who
reads it: the dashboard's charts (``/api/metrics/history`` and the live ``metrics`` messages of
``/api/watch``), the autoscaler of the same process (the latest point of each pod) and ``jetkube top
--history`` (over ``jetkube.metrics.history``).

Why a ring in memory rather than a JetStream stream with a maximum age: a stream would keep every
sample durable and shared by replicas, but costs a message (about 100 bytes of headers and
subject on top of the figures) and a disk write per sample per series; the figures are cheap to
lose (a restarted process draws its charts again from the next sample), so a process keeps what it
shows. Each point is three unsigned 32-bit integers: seconds since the history's epoch, CPU in
microcores (up to 4,294 cores) and memory in KiB (up to 4 TiB): 12 bytes.

A series is allocated lazily: its arrays grow as samples come (``array`` over-allocates a little)
until they hold one ``window``, then the oldest point is overwritten in place. A series that has
had no sample for a whole window (a deleted pod) is dropped by :meth:`History.sweep`; past
``max_series`` series a new one is refused (counted in ``dropped``), so a runaway cluster cannot
grow the process without bound.

Pure: no I/O, no clock of its own (times are passed in), so it is tested as tables.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

Kind = Literal["node", "pod", "container"]
KINDS: tuple[Kind, ...] = ("node", "pod", "container")
U32 = 2**32 - 1
DEFAULT_WINDOW = 3600.0
DEFAULT_INTERVAL = 10.0
DEFAULT_MAX_SERIES = 50_000


class Point(NamedTuple):
    t: float  # epoch seconds (whole seconds)
    cpu_milli: float  # millicores
    memory_bytes: int


def _u32(value: float) -> int:
    return max(0, min(U32, int(value)))


class Ring:
    """One series' points, oldest first from ``head``: lazily grown, then overwritten in place."""

    __slots__ = ("capacity", "cpu", "head", "mem", "t")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.t = array("I")  # seconds since the history's epoch
        self.cpu = array("I")  # microcores
        self.mem = array("I")  # KiB
        self.head = 0  # index of the oldest point once the ring is full

    def __len__(self) -> int:
        return len(self.t)

    def last_t(self) -> int | None:
        if not self.t:
            return None
        return self.t[(self.head - 1) % len(self.t)] if len(self.t) == self.capacity else self.t[-1]

    def append(self, t: int, cpu: int, mem: int) -> None:
        if len(self.t) < self.capacity:
            self.t.append(t)
            self.cpu.append(cpu)
            self.mem.append(mem)
            return
        self.t[self.head], self.cpu[self.head], self.mem[self.head] = t, cpu, mem
        self.head = (self.head + 1) % self.capacity

    def ordered(self) -> Iterable[tuple[int, int, int]]:
        n = len(self.t)
        for i in range(n):
            j = (self.head + i) % n
            yield self.t[j], self.cpu[j], self.mem[j]

    def nbytes(self) -> int:
        """Bytes this series holds (the object and its three arrays, over-allocation included)."""
        return sys.getsizeof(self) + sum(sys.getsizeof(a) for a in (self.t, self.cpu, self.mem))


@dataclass
class Sample:
    """A new point of one series, as the dashboard's live stream sends it."""

    kind: Kind
    key: str
    point: Point

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "point": list(self.point)}


def series_namespace(kind: str, key: str) -> str | None:
    """The namespace of a pod's or container's series key (``ns/pod[/container]``); None for nodes."""
    return None if kind == "node" else key.split("/", 1)[0]


BARS = "▁▂▃▄▅▆▇█"


def spark_text(points: list[Point], index: int, *, start: float, end: float, width: int = 20) -> str:
    """A text sparkline of figure ``index`` (1 CPU, 2 memory) over [start, end): ``width`` buckets,
    each the mean of its points scaled to the series' peak; a bucket without a point is a space."""
    if end <= start or width <= 0:
        return ""
    buckets: list[list[float]] = [[] for _ in range(width)]
    for p in points:
        if start <= p.t <= end:
            i = min(width - 1, int((p.t - start) / (end - start) * width))
            buckets[i].append(float(p[index]))
    means = [sum(b) / len(b) if b else None for b in buckets]
    peak = max((m for m in means if m is not None), default=0.0)
    out = []
    for m in means:
        if m is None:
            out.append(" ")
        else:
            out.append(BARS[min(len(BARS) - 1, int(m / peak * (len(BARS) - 1) + 0.5)) if peak > 0 else 0])
    return "".join(out)


class History:
    def __init__(
        self,
        *,
        window: float = DEFAULT_WINDOW,
        interval: float = DEFAULT_INTERVAL,
        max_series: int = DEFAULT_MAX_SERIES,
        epoch: float = 0.0,
    ) -> None:
        if window <= 0 or interval <= 0:
            raise ValueError("window and interval must be positive")
        self.window = window
        self.interval = interval
        self.capacity = max(1, math.ceil(window / interval) + 1)
        self.max_series = max_series
        self.epoch = int(epoch)
        self.series: dict[tuple[Kind, str], Ring] = {}
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.series)

    # -- writing ------------------------------------------------------------------------------

    def record(
        self, kind: Kind, key: str, t: float, cpu_nanocores: float, memory_bytes: float
    ) -> Sample | None:
        """Add a point; None when it is not newer than the series' last one (the same kubelet
        sample read twice) or the series cap refuses a new series."""
        rel = _u32(t - self.epoch)
        ring = self.series.get((kind, key))
        if ring is None:
            if len(self.series) >= self.max_series:
                self.dropped += 1
                return None
            ring = self.series[(kind, key)] = Ring(self.capacity)
        else:
            last = ring.last_t()
            if last is not None and rel <= last:
                return None
        cpu, mem = _u32(cpu_nanocores / 1000), _u32(memory_bytes / 1024)
        ring.append(rel, cpu, mem)
        return Sample(kind, key, self._point(rel, cpu, mem))

    def record_node(
        self, node: str, t: float, cpu: float, memory: float, pods: Iterable[Any]
    ) -> list[Sample]:
        """A kubelet's summary (actors.metrics.top.parse_summary's node figures and PodTop rows)."""
        new = [self.record("node", node, t, cpu, memory)]
        for pod in pods:
            key = f"{pod.namespace}/{pod.name}"
            new.append(self.record("pod", key, t, pod.cpu_nanocores, pod.memory_bytes))
            for c in pod.containers:
                new.append(self.record("container", f"{key}/{c.name}", t, c.cpu_nanocores, c.memory_bytes))
        return [s for s in new if s is not None]

    def sweep(self, now: float) -> int:
        """Drop every series without a point in the last window; how many were dropped."""
        horizon = now - self.window - self.epoch
        stale = [k for k, ring in self.series.items() if (ring.last_t() or 0) < horizon]
        for k in stale:
            del self.series[k]
        return len(stale)

    # -- reading ------------------------------------------------------------------------------

    def _point(self, rel: int, cpu: int, mem: int) -> Point:
        return Point(float(rel + self.epoch), cpu / 1000, mem * 1024)

    def points(self, kind: Kind, key: str, since: float | None = None) -> list[Point]:
        """The series' points at or after ``since`` (epoch seconds), oldest first."""
        ring = self.series.get((kind, key))
        if ring is None:
            return []
        out = [self._point(t, c, m) for t, c, m in ring.ordered()]
        return out if since is None else [p for p in out if p.t >= since]

    def latest(self, kind: Kind, key: str) -> Point | None:
        ring = self.series.get((kind, key))
        if ring is None or not len(ring):
            return None
        n = len(ring)
        j = (ring.head - 1) % n if n == ring.capacity else n - 1
        return self._point(ring.t[j], ring.cpu[j], ring.mem[j])

    def latest_of_kind(self, kind: Kind, *, since: float) -> Iterable[tuple[str, Point]]:
        """(key, latest point) of every series of ``kind`` whose latest point is at or after ``since``."""
        for k, key in list(self.series):
            if k == kind:
                point = self.latest(k, key)
                if point is not None and point.t >= since:
                    yield key, point

    def query(
        self,
        *,
        now: float,
        kinds: Iterable[str] = ("node", "pod"),
        namespace: str | None = None,
        names: Iterable[str] | None = None,
        since: float | None = None,
    ) -> dict[str, Any]:
        """What ``/api/metrics/history`` and ``jetkube.metrics.history`` answer: every series of
        ``kinds`` (pods and containers of ``namespace`` only, when given; only the keys in
        ``names``, when given) with its points of the last ``since`` seconds (default: the window)."""
        wanted = set(kinds)
        bad = wanted - set(KINDS)
        if bad:
            raise ValueError(
                f"kind: Unsupported value: {sorted(bad)[0]!r}: supported values: {', '.join(KINDS)}"
            )
        keys = set(names) if names is not None else None
        start = now - min(self.window, since if since is not None else self.window)
        series = []
        for (kind, key), _ring in sorted(self.series.items()):
            if kind not in wanted or (keys is not None and key not in keys):
                continue
            if namespace is not None and kind != "node" and series_namespace(kind, key) != namespace:
                continue
            pts = self.points(kind, key, start)
            if pts:
                series.append({"kind": kind, "key": key, "points": [list(p) for p in pts]})
        return {"window": self.window, "interval": self.interval, "now": now, "series": series}

    def nbytes(self) -> int:
        """Bytes held by the rings and the index (keys, tuples, dict), for the benchmark."""
        total = sys.getsizeof(self.series)
        for (kind, key), ring in self.series.items():
            total += ring.nbytes() + sys.getsizeof(key) + sys.getsizeof((kind, key))
        return total
