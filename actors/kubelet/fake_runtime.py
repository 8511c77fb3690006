"""An in-memory :class:`~actors.kubelet.cri.ContainerRuntime`: hollow nodes and sync-loop tests.

Containers are records; nothing runs. What a container does once started is its
:class:`Behaviour`: run until stopped (the default), or exit with a code after some seconds of the
runtime's clock. The default behaviour is read from the container's command, as busybox would run
it: ``sleep N`` (exit 0 after N s), ``exit N`` (exit N at once), ``sleep N; exit M``, ``true`` and
``false``; anything else runs until stopped. A test can also say it: :meth:`FakeRuntime.exit`
(the process ends now with a code), :attr:`FakeRuntime.exec_results` (what ``exec`` answers,
for exec probes and hooks), :attr:`FakeRuntime.missing_images` and
:attr:`FakeRuntime.unpullable`.

The clock is ``clock()`` (``time.time`` by default). Timed exits are applied whenever the runtime
is read (list, inspect) and, when the clock is the wall clock, by a timer on the running loop, which
also emits the ``die`` event a real engine would; :meth:`advance` moves a manual clock. Many nodes
share one instance: every container carries its node's label and every read filters on it, as
with Docker.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actors.kubelet import labels as L
from actors.kubelet import naming
from actors.kubelet.docker_errors import ImageNeverPull, ImagePullError
from actors.kubelet.ports import PortMapping
from actors.kubelet.types import (
    ContainerState,
    ContainerSummary,
    DnsSettings,
    ImageInfo,
    Mount,
    NodeCapacity,
    PullPolicy,
    RuntimeEvent,
    SandboxInfo,
)
from schemas.errors import AlreadyExists, NotFound

Clock = Callable[[], float]
_SLEEP = re.compile(r"\bsleep\s+(\d+(?:\.\d+)?)")
_EXIT = re.compile(r"\bexit\s+(\d+)")


@dataclass(frozen=True)
class Behaviour:
    """What a started container does: exit with ``exit_code`` after ``run_seconds`` (None: never)."""

    run_seconds: float | None = None
    exit_code: int = 0


def behaviour_of(container: Mapping[str, Any]) -> Behaviour:
    """The default behaviour, read from command and args the way a shell would run them."""
    words = [str(w) for w in [*(container.get("command") or []), *(container.get("args") or [])]]
    text = " ".join(words)
    if not words:
        return Behaviour()
    if words[-1] in ("true", "false") and len(words) <= 3:
        return Behaviour(0.0, 0 if words[-1] == "true" else 1)
    code_m = _EXIT.search(text)
    sleep_m = _SLEEP.search(text)
    if code_m is None and sleep_m is None:
        return Behaviour()
    if code_m is None and ("while" in text or "tail -f" in text):
        return Behaviour()
    seconds = (
        float(sleep_m.group(1)) if sleep_m and (code_m is None or sleep_m.start() < code_m.start()) else 0.0
    )
    return Behaviour(seconds, int(code_m.group(1)) if code_m else 0)


@dataclass
class FakeContainer:
    id: str
    name: str
    labels: dict[str, str]
    image: str
    behaviour: Behaviour
    created_at: float
    status: str = "created"  # created | running | exited
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    oom_killed: bool = False
    ip: str = ""
    logs: list[str] = field(default_factory=list)
    termination_message: str = ""


def _dt(t: float | None) -> datetime | None:
    return datetime.fromtimestamp(t, UTC) if t is not None else None


class FakeRuntime:
    #: a simulated node mounts nothing on the host (its CephFS volumes are engine volumes it records)
    host_mounts = False

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        behaviour: Callable[[Mapping[str, Any]], Behaviour] = behaviour_of,
        capacity: NodeCapacity | None = None,
        state_dir: str | Path | None = None,
        pod_cidr: str = "10.244.0",
    ) -> None:
        self.clock: Clock = clock or time.time
        self._wall = clock is None
        self.behaviour = behaviour
        self.capacity = capacity or NodeCapacity(cpus=4, memory_bytes=16 << 30, hostname="fake")
        self.containers: dict[str, FakeContainer] = {}
        self._names: set[str] = set()
        self._by_pod: dict[tuple[str, str], dict[str, FakeContainer]] = {}  # (namespace, name) -> id -> c
        self.exec_results: dict[str, tuple[int, str]] = {}  # container id -> (exit code, output)
        self.missing_images: set[str] = set()  # absent from the engine (pulled when allowed)
        self.unpullable: dict[str, str] = {}  # image -> the registry's error
        self.pulls: list[str] = []
        self._ids = itertools.count(1)
        self._ips = itertools.count(2)
        self._pod_cidr = pod_cidr
        self._subscribers: list[tuple[str, asyncio.Queue[RuntimeEvent]]] = []
        self.on_event: Callable[[RuntimeEvent], None] | None = None  # every event, synchronously
        self._state_dir = Path(state_dir) if state_dir else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # ------------------------------------------------------------------ clock and commands

    def _now(self) -> float:
        return self.clock()

    def exit(self, container_id: str, code: int = 0, *, oom: bool = False) -> None:
        """The container's process ends now with ``code`` (a die event, and oom with ``oom``)."""
        c = self._get(container_id)
        if c.status == "running":
            self._finish(c, code, oom=oom)

    def advance(self, seconds: float = 0.0) -> None:
        """Apply every timed exit due by now (after a manual clock moved ``seconds``)."""
        del seconds
        now = self._now()
        for c in list(self.containers.values()):
            self._due(c, now)

    def _due(self, c: FakeContainer, now: float) -> None:
        b = c.behaviour
        if c.status == "running" and b.run_seconds is not None and c.started_at is not None:
            if now >= c.started_at + b.run_seconds:
                self._finish(c, b.exit_code, at=c.started_at + b.run_seconds)

    def _finish(self, c: FakeContainer, code: int, *, at: float | None = None, oom: bool = False) -> None:
        c.status = "exited"
        c.exit_code = code
        c.oom_killed = oom
        c.finished_at = at if at is not None else self._now()
        if oom:
            self._emit("oom", c)
        self._emit("die", c)

    def _emit(self, action: str, c: FakeContainer) -> None:
        if not self._subscribers and self.on_event is None:
            return
        node = c.labels.get(L.NODE, "")
        ev = RuntimeEvent(action, c.id, _dt(self._now()), c.exit_code, dict(c.labels))
        if self.on_event is not None:
            self.on_event(ev)
        for want, q in self._subscribers:
            if want == node:
                q.put_nowait(ev)

    def _get(self, container_id: str) -> FakeContainer:
        c = self.containers.get(container_id)
        if c is None:
            raise NotFound(f"No such container: {container_id}")
        return c

    # ------------------------------------------------------------------ lifecycle and the node

    async def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def version(self) -> dict[str, Any]:
        return {"Version": "fake", "ApiVersion": "1.43"}

    async def info(self) -> NodeCapacity:
        return self.capacity

    # ------------------------------------------------------------------ images

    async def image_id(self, ref: str) -> str | None:
        return None if ref in self.missing_images else f"sha256:fake-{ref}"

    async def ensure_image(self, ref: str, policy: PullPolicy = "IfNotPresent") -> bool:
        present = ref not in self.missing_images
        if policy == "Never":
            if present:
                return False
            raise ImageNeverPull(ref)
        if present and policy == "IfNotPresent":
            return False
        if ref in self.unpullable:
            if present:
                return False
            raise ImagePullError(ref, self.unpullable[ref])
        self.missing_images.discard(ref)
        self.pulls.append(ref)
        return True

    async def list_images(self) -> list[ImageInfo]:
        refs = {c.image for c in self.containers.values()}
        return [ImageInfo(f"sha256:fake-{r}", (r,), 0, None) for r in sorted(refs)]

    async def remove_image(self, ref: str, *, force: bool = False) -> None:
        self.missing_images.add(ref)

    async def images_for_gc(self) -> tuple[list[ImageInfo], set[str]]:
        images = await self.list_images()
        return images, {i.id for i in images}

    def image_fs_stats(self, docker_root_dir: str) -> tuple[int, int] | None:
        return None

    # ------------------------------------------------------------------ sandboxes

    def _create_record(self, name: str, labels: dict[str, str], image: str, behaviour: Behaviour) -> str:
        if name in self._names:
            raise AlreadyExists(f'Conflict. The container name "/{name}" is already in use')
        cid = f"{next(self._ids):064x}"
        c = FakeContainer(cid, name, labels, image, behaviour, self._now())
        self.containers[cid] = c
        self._names.add(name)
        self._by_pod.setdefault(self._pod_of(c), {})[cid] = c
        return cid

    @staticmethod
    def _pod_of(c: FakeContainer) -> tuple[str, str]:
        return (c.labels.get(L.POD_NAMESPACE, ""), c.labels.get(L.POD_NAME, ""))

    async def create_sandbox(
        self,
        pod_key: str,
        pod_uid: str,
        node_name: str,
        hostname: str,
        ports: Iterable[PortMapping] = (),
        dns: DnsSettings | None = None,
        network: str | None = None,
        *,
        attempt: int = 0,
        extra_labels: Mapping[str, str] | None = None,
        ip: str | None = None,
    ) -> SandboxInfo:
        namespace, _, pod_name = pod_key.partition("/")
        labels = {
            **(extra_labels or {}),
            **L.sandbox_labels(node_name, namespace, pod_name, pod_uid, attempt),
        }
        name = naming.container_name(
            node_name, namespace, pod_name, L.SANDBOX_CONTAINER_NAME, pod_uid, attempt
        )
        cid = self._create_record(name, labels, "jetkube/pause", Behaviour())
        c = self.containers[cid]
        n = next(self._ips)
        c.ip = "" if network == "host" else f"{self._pod_cidr}.{1 + n % 254}"
        await self.start(cid)
        return SandboxInfo(cid, c.ip, name)

    async def sandbox_ip(self, sandbox_id: str, network: str | None = None) -> str:
        return self._get(sandbox_id).ip

    # ------------------------------------------------------------------ containers

    async def create_container(
        self,
        sandbox: SandboxInfo | str,
        pod: Mapping[str, Any],
        container: Mapping[str, Any],
        attempt: int,
        env: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        mounts: Iterable[Mount] = (),
        resources: Mapping[str, Any] | None = None,
        security: Mapping[str, Any] | None = None,
        *,
        node_name: str | None = None,
        extra_labels: Mapping[str, str] | None = None,
    ) -> str:
        meta = pod.get("metadata") or {}
        sb_id = sandbox.id if isinstance(sandbox, SandboxInfo) else sandbox
        node = node_name or self._get(sb_id).labels.get(L.NODE, "")
        ns, pod_name, uid = str(meta.get("namespace") or "default"), str(meta["name"]), str(meta["uid"])
        cname = str(container["name"])
        labels = L.container_labels(
            node, ns, pod_name, uid, cname, attempt, sandbox_id=sb_id, extra=extra_labels
        )
        name = naming.container_name(node, ns, pod_name, cname, uid, attempt)
        return self._create_record(name, labels, str(container.get("image") or ""), self.behaviour(container))

    async def start(self, container_id: str) -> None:
        c = self._get(container_id)
        if c.status == "running":
            return
        c.status, c.exit_code, c.finished_at = "running", None, None
        c.started_at = self._now()
        self._emit("start", c)
        b = c.behaviour
        if b.run_seconds is not None:
            if b.run_seconds <= 0:
                self._finish(c, b.exit_code, at=c.started_at)
            elif self._wall:
                started = c.started_at
                asyncio.get_running_loop().call_later(b.run_seconds, self._timed_exit, c.id, started)

    def _timed_exit(self, container_id: str, started: float) -> None:
        c = self.containers.get(container_id)
        if c is not None and c.status == "running" and c.started_at == started:
            self._finish(c, c.behaviour.exit_code, at=started + (c.behaviour.run_seconds or 0.0))

    async def stop(self, container_id: str, grace_seconds: float = 30) -> None:
        """SIGTERM ends a fake process at once, with 137 (killed) like a shell that ignores it."""
        c = self._get(container_id)
        if c.status == "running":
            self._finish(c, 137)

    async def kill(self, container_id: str, signal: str = "SIGKILL") -> None:
        await self.stop(container_id, 0)

    async def remove(self, container_id: str, *, missing_ok: bool = True) -> None:
        c = self.containers.pop(container_id, None)
        if c is None:
            if not missing_ok:
                raise NotFound(f"No such container: {container_id}")
            return
        self._names.discard(c.name)
        pod = self._by_pod.get(self._pod_of(c))
        if pod is not None:
            pod.pop(container_id, None)
            if not pod:
                del self._by_pod[self._pod_of(c)]
        self._emit("destroy", c)

    async def inspect(self, container_id: str) -> ContainerState:
        c = self._get(container_id)
        self._due(c, self._now())
        return ContainerState(
            id=c.id,
            name=c.name,
            status=c.status,
            running=c.status == "running",
            exit_code=c.exit_code,
            oom_killed=c.oom_killed,
            started_at=_dt(c.started_at),
            finished_at=_dt(c.finished_at),
            error="",
            image=c.image,
            image_id=f"sha256:fake-{c.image}",
            created_at=_dt(c.created_at),
            labels=dict(c.labels),
        )

    async def list(
        self,
        node_name: str,
        pod_uid: str | None = None,
        include_dead: bool = True,
        *,
        type_: str | None = None,
        extra_labels: Mapping[str, str] | None = None,
    ) -> list[ContainerSummary]:
        want = {L.NODE: node_name, **(extra_labels or {})}
        if pod_uid is not None:
            want[L.POD_UID] = pod_uid
        if type_ is not None:
            want[L.TYPE] = type_
        now = self._now()
        out: list[ContainerSummary] = []
        ns, name = want.get(L.POD_NAMESPACE), want.get(L.POD_NAME)
        pool = self._by_pod.get((ns, name), {}) if ns is not None and name is not None else self.containers
        for c in list(pool.values()):
            if any(c.labels.get(k) != v for k, v in want.items()):
                continue
            self._due(c, now)
            if not include_dead and c.status != "running":
                continue
            out.append(self._summary(c))
        return out

    @staticmethod
    def _summary(c: FakeContainer) -> ContainerSummary:
        lb = c.labels
        return ContainerSummary(
            id=c.id,
            name=c.name,
            type=lb.get(L.TYPE, ""),
            node=lb.get(L.NODE, ""),
            namespace=lb.get(L.POD_NAMESPACE, ""),
            pod_name=lb.get(L.POD_NAME, ""),
            pod_uid=lb.get(L.POD_UID, ""),
            container_name=lb.get(L.CONTAINER_NAME, ""),
            attempt=int(lb.get(L.CONTAINER_ATTEMPT, "0") or 0),
            state=c.status,
            created=_dt(c.created_at),
            image=c.image,
            image_id=f"sha256:fake-{c.image}",
            labels=dict(lb),
        )

    # ------------------------------------------------------------------ inside containers

    async def exec(
        self, container_id: str, cmd: Sequence[str], timeout: float | None = None
    ) -> tuple[int, str]:
        c = self._get(container_id)
        if c.status != "running":
            raise NotFound(f"container {container_id[:12]} is not running")
        return self.exec_results.get(container_id, (0, ""))

    async def open_exec(
        self, container_id: str, cmd: Sequence[str], *, stdin: bool, stdout: bool, stderr: bool, tty: bool
    ) -> FakeSession:
        """An interactive exec: the output and code of ``exec_results``; its input is dropped."""
        code, output = await self.exec(container_id, cmd)
        return FakeSession([(1, output.encode())] if output else [], code)

    async def open_attach(self, container_id: str, *, stdin: bool, stdout: bool, stderr: bool) -> FakeSession:
        """An attach to a process that prints nothing more: it ends when the session does."""
        self._get(container_id)
        return FakeSession(None, None)

    async def logs(
        self,
        container_id: str,
        tail: int | None = None,
        since: float | None = None,
        follow: bool = False,
        *,
        timestamps: bool = False,
    ) -> AsyncIterator[str]:
        lines = self._get(container_id).logs
        for line in lines[-tail:] if tail else lines:
            yield line

    async def log_records(
        self, container_id: str, *, since: str | None = None, follow: bool = True
    ) -> AsyncIterator[tuple[str, str, str]]:
        c = self._get(container_id)
        stamp = (_dt(c.started_at) or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for line in c.logs:
            yield ("stdout", stamp, line)

    async def read_termination_message(self, container_id: str, max_bytes: int = 4096) -> str:
        c = self.containers.get(container_id)
        return c.termination_message[:max_bytes] if c else ""

    async def stats(self, container_id: str) -> dict[str, Any]:
        self._get(container_id)
        return {"cpu_stats": {}, "precpu_stats": {}, "memory_stats": {"usage": 0}}

    async def events(
        self,
        node_name: str,
        *,
        since: float | None = None,
        actions: Iterable[str] = ("start", "die", "oom", "destroy"),
    ) -> AsyncIterator[RuntimeEvent]:
        wanted = set(actions)
        q: asyncio.Queue[RuntimeEvent] = asyncio.Queue()
        entry = (node_name, q)
        self._subscribers.append(entry)
        try:
            while True:
                ev = await q.get()
                if ev.action in wanted:
                    yield ev
        finally:
            self._subscribers.remove(entry)

    # ------------------------------------------------------------------ files and volumes

    def pod_dir(self, pod_uid: str) -> Path:
        if self._state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="jetkube-fake-")
            self._state_dir = Path(self._tmp.name)
        return self._state_dir / "pods" / pod_uid

    async def remove_pod_dir(self, pod_uid: str) -> None:
        if self._state_dir is not None:
            shutil.rmtree(self._state_dir / "pods" / pod_uid, ignore_errors=True)

    async def ensure_volume(
        self, name: str, driver_opts: Mapping[str, str], labels: Mapping[str, str], driver: str = "local"
    ) -> str:
        return name

    async def remove_volumes(self, node_name: str, pod_uid: str) -> None:
        return None


class FakeSession:
    """The engine side of an interactive session (docker_session.EngineSession's surface):
    ``frames`` then the end (None: no end until closed), and ``code`` as the exit code."""

    def __init__(self, frames: list[tuple[int, bytes]] | None, code: int | None) -> None:
        self._frames = list(frames or [])
        self._endless = frames is None
        self._closed = asyncio.Event()
        self.code = code
        self.stdin = bytearray()
        self.resizes: list[tuple[int, int]] = []

    async def read(self) -> tuple[int, bytes] | None:
        if self._frames:
            return self._frames.pop(0)
        if self._endless:
            await self._closed.wait()
        return None

    async def write(self, data: bytes) -> None:
        self.stdin += data

    async def close_stdin(self) -> None:
        pass

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))

    async def exit_code(self) -> int | None:
        return self.code

    async def close(self) -> None:
        self._closed.set()
