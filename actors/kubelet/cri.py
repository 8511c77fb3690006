"""The container runtime the kubelet drives: a typed protocol, and nothing else.

The kubelet's parts (sync, containers, prober, volumes, gc, stats, logs, exec, the node agent) only
ever see a :class:`ContainerRuntime`. Two implementations exist:

- :class:`actors.kubelet.docker_runtime.DockerRuntime`, Docker through aiodocker (real nodes);
- :class:`actors.kubelet.fake_runtime.FakeRuntime`, in memory, whose containers start, run and
  exit on command and on a clock (hollow nodes and tests of the sync loop).

The values crossing it are the plain dataclasses of :mod:`actors.kubelet.types`; failures are the
project's errors (NotFound, AlreadyExists, DockerError, ImagePullError, ImageNeverPull,
ServiceUnavailable when the runtime cannot be reached).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class ContainerRuntime(Protocol):
    """Sandboxes and containers of the pods of one or more nodes on one engine."""

    # lifecycle and the node
    async def close(self) -> None: ...
    async def version(self) -> dict[str, Any]: ...
    async def info(self) -> NodeCapacity: ...

    # images
    async def image_id(self, ref: str) -> str | None: ...
    async def ensure_image(self, ref: str, policy: PullPolicy = "IfNotPresent") -> bool: ...
    async def list_images(self) -> list[ImageInfo]: ...
    async def remove_image(self, ref: str, *, force: bool = False) -> None: ...
    async def images_for_gc(self) -> tuple[list[ImageInfo], set[str]]: ...
    def image_fs_stats(self, docker_root_dir: str) -> tuple[int, int] | None: ...

    # sandboxes
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
    ) -> SandboxInfo: ...
    async def sandbox_ip(self, sandbox_id: str, network: str | None = None) -> str: ...

    # containers
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
    ) -> str: ...
    async def start(self, container_id: str) -> None: ...
    async def stop(self, container_id: str, grace_seconds: float = 30) -> None: ...
    async def kill(self, container_id: str, signal: str = "SIGKILL") -> None: ...
    async def remove(self, container_id: str, *, missing_ok: bool = True) -> None: ...
    async def inspect(self, container_id: str) -> ContainerState: ...
    async def list(
        self,
        node_name: str,
        pod_uid: str | None = None,
        include_dead: bool = True,
        *,
        type_: str | None = None,
        extra_labels: Mapping[str, str] | None = None,
    ) -> list[ContainerSummary]: ...

    # inside containers
    async def exec(
        self, container_id: str, cmd: Sequence[str], timeout: float | None = None
    ) -> tuple[int, str]: ...
    def logs(
        self,
        container_id: str,
        tail: int | None = None,
        since: float | None = None,
        follow: bool = False,
        *,
        timestamps: bool = False,
    ) -> AsyncIterator[str]: ...
    def log_records(
        self, container_id: str, *, since: str | None = None, follow: bool = True
    ) -> AsyncIterator[tuple[str, str, str]]: ...
    async def read_termination_message(self, container_id: str, max_bytes: int = 4096) -> str: ...
    async def stats(self, container_id: str) -> dict[str, Any]: ...
    def events(
        self,
        node_name: str,
        *,
        since: float | None = None,
        actions: Iterable[str] = ("start", "die", "oom", "destroy"),
    ) -> AsyncIterator[RuntimeEvent]: ...

    # the pod's files and volumes on the node
    def pod_dir(self, pod_uid: str) -> Path: ...
    async def remove_pod_dir(self, pod_uid: str) -> None: ...
    async def ensure_volume(
        self, name: str, driver_opts: Mapping[str, str], labels: Mapping[str, str], driver: str = "local"
    ) -> str: ...
    async def remove_volumes(self, node_name: str, pod_uid: str) -> None: ...
