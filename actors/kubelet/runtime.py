"""The kubelet's container runtime: the public surface of the Docker side.

    rt = await DockerRuntime.connect(docker_host, state_dir=...)
    await rt.ensure_image("busybox", "IfNotPresent")              # ImagePullError / ImageNeverPull
    sb = await rt.create_sandbox("ns/pod", uid, node, hostname, ports, dns)   # started; sb.ip
    cid = await rt.create_container(sb, pod, pod["spec"]["containers"][0], attempt=0, env=...)
    await rt.start(cid); state = await rt.inspect(cid); await rt.stop(cid, grace_seconds=30)
    async for ev in rt.events(node): ...                           # die / oom / start / destroy

Modules: docker_runtime (I/O), docker_config (create bodies), labels, naming, ports, resources,
state (decoding the engine's JSON), image_gc (LRU decisions), docker_errors (translation).
"""

from __future__ import annotations

from actors.kubelet.docker_config import DEFAULT_TERMINATION_MESSAGE_PATH, PAUSE_IMAGE
from actors.kubelet.docker_errors import ImageNeverPull, ImagePullError
from actors.kubelet.docker_runtime import DockerRuntime
from actors.kubelet.ports import PortMapping, pod_port_mappings
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

__all__ = [
    "DEFAULT_TERMINATION_MESSAGE_PATH",
    "PAUSE_IMAGE",
    "ContainerState",
    "ContainerSummary",
    "DnsSettings",
    "DockerRuntime",
    "ImageInfo",
    "ImageNeverPull",
    "ImagePullError",
    "Mount",
    "NodeCapacity",
    "PortMapping",
    "PullPolicy",
    "RuntimeEvent",
    "SandboxInfo",
    "pod_port_mappings",
]
