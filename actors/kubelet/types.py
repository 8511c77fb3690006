"""Plain values the Docker runtime takes and returns (no aiodocker types leak past runtime.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

PullPolicy = Literal["Always", "IfNotPresent", "Never"]


@dataclass(frozen=True)
class DnsSettings:
    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mount:
    """A bind mount of a path on the engine's host into the container."""

    host_path: str
    container_path: str
    read_only: bool = False
    propagation: str = ""  # "", "rprivate", "rshared", "rslave"


@dataclass(frozen=True)
class SandboxInfo:
    id: str
    ip: str
    name: str = ""


@dataclass(frozen=True)
class NodeCapacity:
    cpus: int
    memory_bytes: int
    hostname: str = ""
    server_version: str = ""
    operating_system: str = ""
    kernel_version: str = ""
    docker_root_dir: str = ""


@dataclass(frozen=True)
class ContainerState:
    """A container's state as the engine reports it, normalised (times are aware UTC, None if never)."""

    id: str
    name: str
    status: str  # created | running | paused | restarting | removing | exited | dead
    running: bool
    exit_code: int | None
    oom_killed: bool
    started_at: datetime | None
    finished_at: datetime | None
    error: str
    image: str = ""
    image_id: str = ""
    created_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerSummary:
    """One entry of :meth:`DockerRuntime.list`, decoded from its labels."""

    id: str
    name: str
    type: str  # sandbox | container
    node: str
    namespace: str
    pod_name: str
    pod_uid: str
    container_name: str
    attempt: int
    state: str  # created | running | exited | ...
    created: datetime | None
    image: str
    image_id: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...]
    size: int
    created: datetime | None


@dataclass(frozen=True)
class RuntimeEvent:
    """A container event of this node: ``action`` is die | oom | start | stop | destroy | ..."""

    action: str
    container_id: str
    time: datetime | None
    exit_code: int | None
    labels: dict[str, str] = field(default_factory=dict)
