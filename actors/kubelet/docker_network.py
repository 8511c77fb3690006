"""The pod network on Docker: the bridge network pods are attached to, and a sandbox's address.

Used through :class:`actors.kubelet.docker_runtime.DockerRuntime`, whose methods of the same names
call these. ``--pod-network flannel`` (actors/kubelet/process.py) names the node's bridge in
``DockerRuntime.pod_network`` and clears ``pod_network_ready`` until :func:`ensure_bridge_network`
has made it; a sandbox made meanwhile waits for it (:func:`wait_for_pod_network`) for up to
``POD_NETWORK_WAIT`` seconds, then fails with a message saying what is missing. Without a pod
network, pods use the engine's default bridge.

Split out of docker_runtime.py to keep the runtime's modules small.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

import aiodocker
import structlog

from actors.kubelet.docker_errors import docker_errors
from schemas.errors import DockerError, NotFound

if TYPE_CHECKING:
    from actors.kubelet.docker_runtime import DockerRuntime

log = structlog.get_logger("actors.kubelet.docker_runtime")

POD_NETWORK_WAIT = 10.0  # seconds a sandbox waits for the pod network (--pod-network flannel)


async def wait_for_pod_network(rt: DockerRuntime) -> str | None:
    """The network a sandbox joins (None: the engine's default bridge), once it exists."""
    if not rt.pod_network_ready.is_set():
        try:
            await asyncio.wait_for(rt.pod_network_ready.wait(), POD_NETWORK_WAIT)
        except TimeoutError:
            raise DockerError(
                "network is not ready: the pod network has no bridge yet (the Node has no "
                "spec.podCIDR: is the control plane's node IPAM running?)"
            ) from None
    return rt.pod_network


async def ensure_bridge_network(
    rt: DockerRuntime,
    name: str,
    subnet: str,
    gateway: str,
    mtu: int,
    labels: Mapping[str, str] | None = None,
    *,
    stop_attached: bool = False,
) -> None:
    """A Docker bridge network ``name`` on ``subnet`` without Docker's masquerade (the pod
    network does its own). One with another subnet or MTU is removed and made again: refused,
    DockerError, while containers are attached to it, unless ``stop_attached``, which stops
    them first (the pods' sandboxes: their kubelet makes new ones on the new network)."""
    docker = rt._docker
    options = {
        "com.docker.network.bridge.enable_ip_masquerade": "false",
        "com.docker.network.driver.mtu": str(mtu),
    }
    with docker_errors(f"inspect network {name}", rt.engine):
        try:
            current = await docker.networks.get(name)
            info = await current.show()
        except aiodocker.DockerError as exc:
            if exc.status != 404:
                raise
            info = None
    if info is not None:
        configs = (info.get("IPAM") or {}).get("Config") or []
        have = info.get("Options") or {}
        same = any(c.get("Subnet") == subnet for c in configs) and all(
            have.get(k) == v for k, v in options.items()
        )
        if same:
            return
        log.warning("pod_network.recreated", network=name, had=configs, subnet=subnet)
        attached = sorted(info.get("Containers") or {})
        if stop_attached and attached:
            short = [c[:12] for c in attached]
            log.warning("pod_network.sandboxes_stopped", network=name, containers=short)
            for cid in attached:
                try:
                    await rt.stop(cid, grace_seconds=1)
                except NotFound:
                    pass
        with docker_errors(f"remove network {name}", rt.engine):
            await current.delete()
    body = {
        "Name": name,
        "Driver": "bridge",
        "CheckDuplicate": True,
        "IPAM": {"Driver": "default", "Config": [{"Subnet": subnet, "Gateway": gateway}]},
        "Options": options,
        "Labels": {**rt.cluster_labels, **dict(labels or {})},
    }
    with docker_errors(f"create network {name}", rt.engine):
        await docker.networks.create(body)


async def remove_network(rt: DockerRuntime, name: str) -> None:
    """Remove the Docker network ``name``; one already gone is fine."""
    with docker_errors(f"remove network {name}", rt.engine):
        try:
            await (await rt._docker.networks.get(name)).delete()
        except aiodocker.DockerError as exc:
            if exc.status != 404:
                raise


async def sandbox_ip(rt: DockerRuntime, sandbox_id: str, network: str | None = None) -> str:
    """The pod's IP: the sandbox's address on ``network`` if it is attached to it, else its
    address on the default bridge, else on any network ("" if it has none)."""
    with docker_errors(f"inspect sandbox {sandbox_id[:12]}", rt.engine):
        data = await rt._docker.containers.container(sandbox_id).show()
    settings = data.get("NetworkSettings") or {}
    nets = settings.get("Networks") or {}
    if network and network in nets:
        return str(nets[network].get("IPAddress") or "")
    if settings.get("IPAddress"):
        return str(settings["IPAddress"])
    for n in nets.values():
        if n.get("IPAddress"):
            return str(n["IPAddress"])
    return ""
