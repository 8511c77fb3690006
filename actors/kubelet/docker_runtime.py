"""DockerRuntime: the kubelet's only door to the Docker engine (aiodocker underneath).

Lifecycle: ``rt = await DockerRuntime.connect(docker_host, state_dir=...)`` checks the engine
answers (else ``ServiceUnavailable``); ``await rt.close()`` (or ``async with``) releases the
HTTP session. Every method is one or a few engine calls, returns plain values from types.py and
raises only jetkube errors (docker_errors.py translates at this edge); the decisions of what to
create live in docker_config.py and are tested without an engine.

Pods: :meth:`create_sandbox` creates and starts the infra container (pause) that owns the network
namespace and publishes hostPorts; :meth:`create_container` creates an app container joined to it
(start it with :meth:`start`). Every container is labelled (labels.py) with its node, so kubelets
sharing one engine each see only their own (:meth:`list`, :meth:`events`).

Termination messages: each container instance gets an empty host file under
``<state_dir>/pods/<pod uid>/`` bind-mounted at its terminationMessagePath;
:meth:`read_termination_message` reads it back (from the engine with ``docker cp`` semantics when
the state dir is not on this host). The state dir must be a path the engine's host shares with
the kubelet (the same machine, or the same path mounted into the kubelet's container).

Images: :meth:`ensure_image` applies the pull policy. There is no registry on these machines, so
with ``Always`` a failed pull of an image the engine already has falls back to the local image
(logged; failures are remembered for a minute so the hot path does not ask again) — Kubernetes
would fail the pod; jetkube differs on purpose, since every example image is built locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiodocker
import structlog
from aiodocker.jsonstream import json_stream_stream
from aiodocker.volumes import DockerVolume

from actors.kubelet import docker_network, docker_session
from actors.kubelet import labels as L
from actors.kubelet.docker_config import PAUSE_IMAGE, container_config, sandbox_config
from actors.kubelet.docker_errors import ImageNeverPull, ImagePullError, docker_errors, translate, unreachable
from actors.kubelet.image_gc import ImageUsage
from actors.kubelet.pause_image import ensure_pause_image
from actors.kubelet.ports import PortMapping
from actors.kubelet.state import container_state, container_summary, image_info, node_capacity, runtime_event
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
from schemas.errors import AlreadyExists, BadRequest, DockerError, JetkubeError, NotFound, Timeout

log = structlog.get_logger(__name__)

DEFAULT_STATE_DIR = "/var/lib/jetkube/kubelet"
DEFAULT_EVENT_ACTIONS = ("start", "die", "oom", "destroy")
MAX_TERMINATION_MESSAGE = 4096  # bytes, as Kubernetes
PULL_FAILURE_MEMORY = 60.0  # seconds a failed pull of a present image is not retried (policy Always)


class DockerRuntime:
    #: the kubelet mounts network filesystems (CephFS) on this host for the engine to bind
    host_mounts = True

    def __init__(
        self,
        docker: aiodocker.Docker,
        engine: str,
        state_dir: str | Path = DEFAULT_STATE_DIR,
        *,
        pause_image: str = PAUSE_IMAGE,
    ) -> None:
        self._docker = docker
        self.engine = engine
        self.state_dir = Path(state_dir)
        self.pause_image = pause_image
        self.image_usage = ImageUsage()
        self.cluster_labels: dict[str, str] = {}  # put on every container made (io.jetkube.cluster)
        self._pull_failed_at: dict[str, float] = {}
        self._pause_ready = False  # the infra image was found or made (pause_image.py)
        # the Docker network of pods without hostNetwork (None: the engine's default bridge);
        # --pod-network flannel names its bridge here and clears the event until the bridge exists
        # (docker_network.py)
        self.pod_network: str | None = None
        self.pod_network_ready = asyncio.Event()
        self.pod_network_ready.set()

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def connect(
        cls,
        docker_host: str | None = None,
        *,
        state_dir: str | Path | None = None,
        pause_image: str = PAUSE_IMAGE,
    ) -> DockerRuntime:
        """Open a session to the engine (``docker_host`` or $DOCKER_HOST or the local socket) and
        check that it answers."""
        engine = docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        try:
            docker = aiodocker.Docker(url=docker_host) if docker_host else aiodocker.Docker()
        except (aiodocker.DockerError, ValueError, OSError) as exc:
            raise unreachable(engine, str(exc)) from exc
        rt = cls(
            docker,
            engine,
            state_dir or os.environ.get("JETKUBE_STATE_DIR") or DEFAULT_STATE_DIR,
            pause_image=pause_image,
        )
        try:
            await rt.version()
        except JetkubeError:
            await docker.close()
            raise
        return rt

    async def close(self) -> None:
        await self._docker.close()

    async def __aenter__(self) -> DockerRuntime:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def version(self) -> dict[str, Any]:
        with docker_errors("query the engine's version", self.engine):
            return dict(await self._docker.version())

    async def info(self) -> NodeCapacity:
        """The node's capacity as the engine sees it (cpu count, memory bytes) and its identity."""
        with docker_errors("query the engine's info", self.engine):
            return node_capacity(await self._docker.system.info())

    # ------------------------------------------------------------------ images

    async def image_id(self, ref: str) -> str | None:
        """The id of the local image ``ref``, or None when the engine does not have it."""
        try:
            with docker_errors(f"inspect image {ref}", self.engine):
                data = await self._docker.images.inspect(ref)
        except NotFound:
            return None
        return str(data.get("Id", ""))

    async def pull(self, ref: str) -> None:
        """Pull ``ref``; ImagePullError with the engine's message when the engine cannot."""
        try:
            await self._docker.images.pull(ref)
        except aiodocker.DockerError as exc:
            err = translate(exc, f"pull image {ref}", self.engine)
            if err.reason == "ServiceUnavailable":
                raise err from exc
            raise ImagePullError(ref, str(exc.message)) from exc
        except Exception as exc:
            raise translate(exc, f"pull image {ref}", self.engine) from exc

    async def ensure_image(self, ref: str, policy: PullPolicy = "IfNotPresent") -> bool:
        """Make ``ref`` present by the pull policy; True if it was pulled now.

        Raises ImageNeverPull (policy Never, image absent) or ImagePullError (the pull failed)."""
        present = await self.image_id(ref)
        if policy == "Never":
            if present:
                return False
            raise ImageNeverPull(ref)
        if present and policy == "IfNotPresent":
            return False
        now = time.monotonic()
        if present and now - self._pull_failed_at.get(ref, -math.inf) < PULL_FAILURE_MEMORY:
            return False
        try:
            await self.pull(ref)
        except ImagePullError as exc:
            if not present:
                raise
            self._pull_failed_at[ref] = now
            log.warning("image.pull_failed_using_local", image=ref, error=exc.engine_message)
            return False
        self._pull_failed_at.pop(ref, None)
        return True

    async def list_images(self) -> list[ImageInfo]:
        with docker_errors("list images", self.engine):
            return [image_info(i) for i in await self._docker.images.list()]

    async def remove_image(self, ref: str, *, force: bool = False) -> None:
        with docker_errors(f"remove image {ref}", self.engine):
            await self._docker.images.delete(ref, force=force)
        self.image_usage.forget(ref)

    async def images_for_gc(self) -> tuple[list[ImageInfo], set[str]]:
        """(every image, the ids of images some container of the engine uses, any node's, any
        state), updating :attr:`image_usage` from the containers seen."""
        images = await self.list_images()
        with docker_errors("list containers", self.engine):
            items = await self._docker.containers.list(all=True)
        now = time.time()
        in_use: set[str] = set()
        for c in items:
            s = container_summary(c._container)
            in_use.add(s.image_id)
            when = now if s.running else (s.created.timestamp() if s.created else now)
            self.image_usage.mark_used(s.image_id, when)
        self.image_usage.observe((i.id for i in images), now)
        return images, in_use

    def image_fs_stats(self, docker_root_dir: str) -> tuple[int, int] | None:
        """(capacity, available) bytes of the engine's image filesystem, if it is on this host."""
        try:
            st = os.statvfs(docker_root_dir)
        except OSError:
            return None
        return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize

    # ------------------------------------------------------------------ pods

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
        """Create and start the pod's infra container; return its id and the pod's IP.

        ``pod_key`` is ``namespace/name``. A start failure (a hostPort already taken, say) removes
        the half-made sandbox and raises DockerError with the engine's message. AlreadyExists if
        this sandbox (same pod uid and attempt) exists: list and adopt it instead. ``ip``: the
        address the pod had (a sandbox made again after its node restarted), asked of a
        user-defined network; when the network cannot give it, the sandbox gets any address."""
        if not self._pause_ready:  # a fresh engine: the kubelet makes its own infra image
            await ensure_pause_image(self._docker, self.pause_image, self.engine)
            self._pause_ready = True
        if network is None:
            network = await self._pod_network()
        namespace, _, pod_name = pod_key.partition("/")
        name, config = sandbox_config(
            node=node_name,
            namespace=namespace,
            pod_name=pod_name,
            pod_uid=pod_uid,
            hostname=hostname,
            ports=ports,
            dns=dns,
            network=network,
            attempt=attempt,
            image=self.pause_image,
            extra_labels=extra_labels,
            ip=ip,
        )
        try:
            cid = await self._start_sandbox(name, config)
        except DockerError as exc:
            if "NetworkingConfig" not in config:
                raise
            # the old address is taken, or no longer in the network's subnet: any address will do
            log.info("sandbox.address_not_kept", pod=pod_key, ip=ip, error=exc.message)
            anywhere = {k: v for k, v in config.items() if k != "NetworkingConfig"}
            cid = await self._start_sandbox(name, anywhere)
        ip = await self.sandbox_ip(cid, network)
        log.debug("sandbox.created", pod=pod_key, id=cid[:12], ip=ip)
        return SandboxInfo(id=cid, ip=ip, name=name)

    async def _start_sandbox(self, name: str, config: dict[str, Any]) -> str:
        """Create and start the infra container; a start that fails removes it."""
        try:
            cid = await self._create(name, config)
        except NotFound:  # e.g. the infra image went away (docker rmi): make it again, once
            await ensure_pause_image(self._docker, self.pause_image, self.engine)
            cid = await self._create(name, config)
        try:
            await self.start(cid)
        except JetkubeError:
            await self.remove(cid)
            raise
        return cid

    # The pod network (docker_network.py): functions of the runtime, bound here as its methods.
    _pod_network = docker_network.wait_for_pod_network
    ensure_bridge_network = docker_network.ensure_bridge_network
    remove_network = docker_network.remove_network
    sandbox_ip = docker_network.sandbox_ip

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
        """Create (not start) one of the pod's containers, joined to ``sandbox``; return its id.

        ``node_name`` defaults to the pod's spec.nodeName. The image must be present
        (:meth:`ensure_image` first). AlreadyExists when this container and attempt exist."""
        sandbox_id = sandbox.id if isinstance(sandbox, SandboxInfo) else sandbox
        meta = pod.get("metadata") or {}
        node = node_name or str((pod.get("spec") or {}).get("nodeName") or "")
        if not node:
            raise BadRequest(f"container {container.get('name')}: no node name (pod.spec.nodeName)")
        tm_host = None
        if container.get("terminationMessagePath", "/dev/termination-log"):
            tm_host = await asyncio.to_thread(
                self._termination_file, str(meta.get("uid") or ""), str(container["name"]), attempt
            )
        name, config = container_config(
            node=node,
            pod=pod,
            container=container,
            sandbox_id=sandbox_id,
            attempt=attempt,
            env=env,
            mounts=mounts,
            termination_message_host_path=tm_host,
            resources=resources,
            security=security,
            extra_labels=extra_labels,
        )
        return await self._create(name, config)

    async def _create(self, name: str, config: dict[str, Any]) -> str:
        """Create a container; cancel-safe. The engine finishes a create whose request it has
        received even if the client gives up, so a kubelet stopped mid-create used to leave a
        container behind that appeared after its stop: a cancelled create now waits for the
        engine's answer (up to 30 s) and removes what it made before the cancel goes on."""
        creating = asyncio.ensure_future(self._create_now(name, config))
        try:
            return await asyncio.shield(creating)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(30):
                    container_id = await creating
                await self.remove(container_id)
            raise

    async def _create_now(self, name: str, config: dict[str, Any]) -> str:
        if self.cluster_labels:
            config = {**config, "Labels": {**(config.get("Labels") or {}), **self.cluster_labels}}
        with docker_errors(f"create container {name}", self.engine, on_create=True):
            c = await self._docker.containers.create(config, name=name)
        return str(c.id)

    def _termination_file(self, pod_uid: str, container: str, attempt: int) -> str:
        d = self.state_dir / "pods" / (pod_uid or "_") / "containers"
        d.mkdir(parents=True, exist_ok=True)
        f = d / f"{container}-{attempt}.termination-log"
        f.write_bytes(b"")
        f.chmod(0o666)  # a container running as another user must be able to write it
        return str(f)

    def pod_dir(self, pod_uid: str) -> Path:
        return self.state_dir / "pods" / pod_uid

    async def remove_pod_dir(self, pod_uid: str) -> None:
        """Forget the pod's host files (termination messages) once its containers are gone."""
        from actors.kubelet.mounts import remove_tree  # never into a volume still mounted there

        await remove_tree(self.pod_dir(pod_uid))

    # ------------------------------------------------------------------ volumes

    async def ensure_volume(
        self, name: str, driver_opts: Mapping[str, str], labels: Mapping[str, str], driver: str = "local"
    ) -> str:
        """Create the named engine volume (cephfs/nfs through the local driver's ``type``/``device``/
        ``o`` options) unless it exists; the engine mounts it when a container using it starts."""
        with docker_errors(f"create volume {name}", self.engine):
            try:
                await DockerVolume(self._docker, name).show()
                return name
            except aiodocker.DockerError as exc:
                if exc.status != 404:
                    raise
            await self._docker.volumes.create(
                {"Name": name, "Driver": driver, "DriverOpts": dict(driver_opts), "Labels": dict(labels)}
            )
        return name

    async def remove_volumes(self, node_name: str, pod_uid: str) -> None:
        """Remove the engine volumes made for one pod (labelled with its node and uid)."""
        with docker_errors("list volumes", self.engine):
            data = await self._docker.volumes.list(
                filters={"label": [f"{L.NODE}={node_name}", f"{L.POD_UID}={pod_uid}"]}
            )
        for v in data.get("Volumes") or []:
            with contextlib.suppress(JetkubeError):
                with docker_errors(f"remove volume {v['Name']}", self.engine):
                    await DockerVolume(self._docker, v["Name"]).delete(force=True)

    # ------------------------------------------------------------------ containers

    async def start(self, container_id: str) -> None:
        with docker_errors(f"start container {container_id[:12]}", self.engine):
            await self._docker.containers.container(container_id).start()

    async def stop(self, container_id: str, grace_seconds: float = 30) -> None:
        """SIGTERM (or the image's STOPSIGNAL), then SIGKILL when ``grace_seconds`` have passed."""
        t = max(0, math.ceil(grace_seconds))
        with docker_errors(f"stop container {container_id[:12]}", self.engine):
            await self._docker.containers.container(container_id).stop(t=t)

    async def kill(self, container_id: str, signal: str = "SIGKILL") -> None:
        with docker_errors(f"kill container {container_id[:12]}", self.engine):
            await self._docker.containers.container(container_id).kill(signal=signal)

    async def remove(self, container_id: str, *, missing_ok: bool = True) -> None:
        """Force-remove a container (and its anonymous volumes); a missing one is fine by default."""
        try:
            with docker_errors(f"remove container {container_id[:12]}", self.engine):
                await self._docker.containers.container(container_id).delete(force=True, v=True)
        except NotFound:
            if not missing_ok:
                raise
        except JetkubeError as exc:
            if "already in progress" not in exc.message:
                raise

    async def inspect(self, container_id: str) -> ContainerState:
        with docker_errors(f"inspect container {container_id[:12]}", self.engine):
            return container_state(await self._docker.containers.container(container_id).show())

    async def list(
        self,
        node_name: str,
        pod_uid: str | None = None,
        include_dead: bool = True,
        *,
        type_: str | None = None,
        extra_labels: Mapping[str, str] | None = None,
    ) -> list[ContainerSummary]:
        """This node's containers (and sandboxes), optionally of one pod (by uid, or by
        ``extra_labels`` such as its namespace and name), by their labels."""
        filters = L.list_filters(node_name, pod_uid, type_, extra_labels)
        with docker_errors("list containers", self.engine):
            items = await self._docker.containers.list(all=include_dead, filters=filters)
        # DockerContainer keeps the engine's JSON entry in _container (aiodocker has no public accessor)
        return [container_summary(c._container) for c in items]

    async def exec(
        self, container_id: str, cmd: Sequence[str], timeout: float | None = None
    ) -> tuple[int, str]:
        """Run ``cmd`` in the container; (exit code, stdout+stderr). Timeout after ``timeout`` s
        (the process may go on running in the container: the engine cannot kill an exec)."""
        what = f"exec {list(cmd)!r} in {container_id[:12]}"
        chunks: list[bytes] = []
        with docker_errors(what, self.engine):
            ex = await self._docker.containers.container(container_id).exec(
                list(cmd), stdout=True, stderr=True, tty=False
            )
            try:
                async with asyncio.timeout(timeout):
                    async with ex.start(detach=False) as stream:
                        while (msg := await stream.read_out()) is not None:
                            chunks.append(msg.data)
            except TimeoutError:
                raise Timeout(f"{what}: timed out after {timeout}s") from None
            deadline = time.monotonic() + 5
            while True:
                info = await ex.inspect()
                if not info.get("Running") and info.get("ExitCode") is not None:
                    break
                if time.monotonic() > deadline:
                    raise Timeout(f"{what}: the exec did not report an exit code")
                await asyncio.sleep(0.01)
        return int(info["ExitCode"]), b"".join(chunks).decode(errors="replace")

    async def open_exec(
        self, container_id: str, cmd: Sequence[str], *, stdin: bool, stdout: bool, stderr: bool, tty: bool
    ) -> docker_session.EngineSession:
        """Start ``cmd`` in the container with its streams attached (docker_session.py)."""
        return await docker_session.open_exec(
            self._docker, self.engine, container_id, cmd, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty
        )

    async def open_attach(
        self, container_id: str, *, stdin: bool, stdout: bool, stderr: bool
    ) -> docker_session.EngineSession:
        """Attach to the container's main process (docker_session.py)."""
        return await docker_session.open_attach(
            self._docker, self.engine, container_id, stdin=stdin, stdout=stdout, stderr=stderr
        )

    async def logs(
        self,
        container_id: str,
        tail: int | None = None,
        since: float | None = None,
        follow: bool = False,
        *,
        timestamps: bool = False,
    ) -> AsyncIterator[str]:
        """The container's output, line by line (no trailing newline); ``since`` is epoch seconds.
        With ``follow`` it goes on until the container stops or the caller stops iterating."""
        params: dict[str, Any] = {
            "tail": "all" if tail is None else str(max(0, tail)),
            "timestamps": timestamps,
        }
        if since is not None:
            params["since"] = f"{since:.9f}"
        c = self._docker.containers.container(container_id)
        pending = ""
        with docker_errors(f"read the logs of {container_id[:12]}", self.engine):
            if follow:
                stream = c.log(stdout=True, stderr=True, follow=True, **params)
                async with contextlib.aclosing(stream):
                    async for piece in stream:
                        pending += piece
                        *lines, pending = pending.split("\n")
                        for line in lines:
                            yield line
            else:
                for piece in await c.log(stdout=True, stderr=True, follow=False, **params):
                    pending += piece
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        yield line
        if pending:
            yield pending

    async def read_termination_message(
        self, container_id: str, max_bytes: int = MAX_TERMINATION_MESSAGE
    ) -> str:
        """What the container wrote to its terminationMessagePath ("" if nothing or no such file)."""
        data = await self.inspect_raw(container_id)
        path = ((data.get("Config") or {}).get("Labels") or {}).get(L.TERMINATION_MESSAGE_PATH, "")
        if not path:
            return ""
        source = next(
            (m.get("Source") for m in data.get("Mounts") or [] if m.get("Destination") == path), None
        )
        if source:
            try:
                raw = await asyncio.to_thread(_read_head, source, max_bytes)
                return raw.decode(errors="replace")
            except FileNotFoundError:
                pass  # the engine is on another host: ask it for the file
        try:
            with docker_errors(f"read {path} of {container_id[:12]}", self.engine):
                tar = await self._docker.containers.container(container_id).get_archive(path)
            member = tar.next()
            fh = tar.extractfile(member) if member is not None else None
            return fh.read(max_bytes).decode(errors="replace") if fh is not None else ""
        except NotFound:
            return ""

    async def inspect_raw(self, container_id: str) -> dict[str, Any]:
        with docker_errors(f"inspect container {container_id[:12]}", self.engine):
            return dict(await self._docker.containers.container(container_id).show())

    async def log_records(
        self, container_id: str, *, since: str | None = None, follow: bool = True
    ) -> AsyncIterator[tuple[str, str, str]]:
        """The container's log as (stream stdout|stderr, engine timestamp, line) records, following
        it until the container stops; ``since`` is the engine's ``seconds.nanoseconds`` (logframes.py)."""
        from actors.kubelet.logframes import FrameDecoder

        params: dict[str, Any] = {"stdout": "1", "stderr": "1", "timestamps": "1"}
        params["follow"] = "1" if follow else "0"
        if since is not None:
            params["since"] = since
        with docker_errors(f"follow the logs of {container_id[:12]}", self.engine):
            info = await self._docker.containers.container(container_id).show()
            decoder = FrameDecoder(tty=bool((info.get("Config") or {}).get("Tty")))
            path = f"containers/{container_id}/logs"
            async with self._docker._query(path, method="GET", params=params, timeout=None) as resp:
                async for chunk in resp.content.iter_any():
                    for record in decoder.feed(chunk):
                        yield record
            for record in decoder.flush():
                yield record

    async def stats(self, container_id: str) -> dict[str, Any]:
        """One sample of the container's resource usage (the engine's stats JSON), at once: the
        engine's ``one-shot`` mode skips its one-second wait for a second (``precpu``) sample."""
        with docker_errors(f"read the stats of {container_id[:12]}", self.engine):
            params = {"stream": "0", "one-shot": "1"}
            return dict(await self._docker._query_json(f"containers/{container_id}/stats", params=params))

    async def events(
        self,
        node_name: str,
        *,
        since: float | None = None,
        actions: Iterable[str] = DEFAULT_EVENT_ACTIONS,
    ) -> AsyncIterator[RuntimeEvent]:
        """This node's container events as they happen (die, oom, start, destroy by default).

        The stream ends with ServiceUnavailable when the engine goes away; resubscribe with
        ``since`` = the last event's time so nothing is missed, and re-list to be sure."""
        filters = {"type": ["container"], "label": [f"{L.NODE}={node_name}"], "event": list(actions)}
        params: dict[str, Any] = {"filters": filters}
        if since is not None:
            params["since"] = f"{since:.9f}"
        with docker_errors("follow the engine's events", self.engine):
            # aiodocker's DockerEvents.subscribe() spawns an unsupervised task; read the stream here.
            async with self._docker._query("events", method="GET", params=params, timeout=None) as resp:
                async for data in json_stream_stream(resp, raise_on_error=False):
                    ev = runtime_event(data)
                    if ev is not None:
                        yield ev


def _read_head(path: str, max_bytes: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(max_bytes)


__all__ = ["AlreadyExists", "DockerRuntime", "ImageNeverPull", "ImagePullError"]
