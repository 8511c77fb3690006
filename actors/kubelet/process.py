"""Starting a kubelet inside a process: ``start_kubelet(sup, bus, node_name=...)``.

Used by ``jetkube up`` (a kubelet named after the host, when a Docker engine answers) and by
``jetkube kubelet`` (cli/kubelet.py). It connects to the engine (False when none answers, so
``jetkube up`` runs without a kubelet), builds the :class:`~actors.kubelet.kubelet.Kubelet` and
spawns its agents on the given supervisor, plus, when their modules exist, the kubelet services
written beside it: ``actors.kubelet.server.KubeletServer`` (logs/exec over NATS),
``actors.kubelet.static.StaticPods`` (``--manifests-dir``) and ``actors.kubelet.gc``'s
``ContainerGC`` and ``ImageGC``. Those are imported lazily: a missing module is skipped.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.kubelet import labels as L
from actors.kubelet.docker_runtime import DockerRuntime
from actors.runtime.supervisor import Supervisor
from schemas.errors import JetkubeError

log = structlog.get_logger(__name__)


@dataclass
class GCPolicy:
    """The seed's garbage-collection flags (handed to actors.kubelet.gc when it exists)."""

    minimum_container_ttl_duration: float = 0.0  # seconds
    maximum_dead_containers_per_container: int = 1
    maximum_dead_containers: int = -1
    image_gc_high_threshold: int = 90
    image_gc_low_threshold: int = 80
    extra: dict[str, Any] = field(default_factory=dict)


def host_ip() -> str:
    """This host's primary address (the one with the default route), else loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent for a UDP connect
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _optional(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def start_pod_network(
    sup: Supervisor,
    api: Any,
    runtime: DockerRuntime,
    node_name: str,
    backend: str,
    iface: str,
    cluster_cidr: str,
    options: dict[str, Any] | None = None,
) -> Any:
    """``--pod-network flannel``: pods wait for a Docker bridge on the Node's subnet, which the
    flannel agent has made once the control plane allocated the subnet; the agent keeps the routes.
    ``cluster_cidr`` "": the one the control plane publishes (actors/nodeipam/clusterconfig.py).

    The agent calls ``on_subnet`` again when the Node came back with another subnet (deleted and
    registered again): new sandboxes wait while the bridge is made again on the new subnet, and the
    sandboxes still on the old one are stopped first (Docker removes no network that has
    endpoints; an address of the old subnet is not routed to this node any more). Their pods are
    gone if the garbage collector saw the Node missing (it deletes a deleted Node's pods); a pod
    that outlived the deletion gets a new sandbox on the new bridge, a new IP and restarted
    containers, as after any sandbox death."""
    import ipaddress

    from actors.flannel.agent import FlannelAgent, FlannelSettings

    network = f"jetkube-pods-{node_name}"
    runtime.pod_network = network
    runtime.pod_network_ready.clear()

    async def on_subnet(subnet: ipaddress.IPv4Network, mtu: int) -> None:
        gateway = str(subnet.network_address + 1)
        runtime.pod_network_ready.clear()
        await runtime.ensure_bridge_network(
            network, str(subnet), gateway, mtu, {L.NODE: node_name}, stop_attached=True
        )
        runtime.pod_network_ready.set()

    settings = FlannelSettings(
        backend=backend,  # type: ignore[arg-type]
        iface=iface,
        cluster_cidr=cluster_cidr,
        **(options or {}),
    )
    agent = FlannelAgent(api, node_name, settings, on_subnet=on_subnet)
    agent.start(sup)
    return agent


async def start_kubelet(
    sup: Supervisor,
    bus: Any,
    *,
    node_name: str,
    docker_host: str | None = None,
    node_labels: dict[str, str] | None = None,
    manifests_dir: str | None = None,
    heartbeat_interval: float = 10.0,
    resync_period: float = 10.0,
    state_dir: str | None = None,
    gc: GCPolicy | None = None,
    api: Any | None = None,
    cluster_dns: list[str] | None = None,
    cluster_domain: str = "cluster.local",
    stats_interval: float = 10.0,
    log_stream: bool = True,
    cluster_id: str = "",
    pod_network: str = "docker",
    flannel_backend: str = "vxlan",
    flannel_iface: str = "",
    cluster_cidr: str = "",
    flannel_options: dict[str, Any] | None = None,
) -> Any:
    """Start a kubelet on ``sup``; the Kubelet (truthy), or False when no Docker engine answers.

    ``stats_interval``: seconds between CPU/memory samples for ``jetkube top`` (0: none);
    ``log_stream``: publish the logs of opted-in namespaces' pods to JETKUBE_LOGS;
    ``pod_network``: ``docker`` (pods on the engine's default bridge, one host) or ``flannel`` (pods
    on a bridge with the Node's spec.podCIDR, routed to the other nodes by actors/flannel, with
    ``flannel_backend`` over ``flannel_iface`` and masquerade outside ``cluster_cidr``, by default
    the control plane's)."""
    from actors.kubelet.kubelet import Kubelet
    from bus.client import ApiClient

    try:
        runtime = await DockerRuntime.connect(docker_host, state_dir=state_dir)
    except JetkubeError as exc:
        log.warning("kubelet.no_engine", node=node_name, error=exc.message)
        return False
    if cluster_id:
        runtime.cluster_labels[L.CLUSTER] = cluster_id
    api = api or ApiClient(bus)
    policy = gc or GCPolicy()
    kubelet = Kubelet(
        bus,
        api,
        runtime,
        node_name,
        host_ip=host_ip(),
        node_labels=node_labels,
        heartbeat_interval=heartbeat_interval,
        resync_period=resync_period,
        gc_policy=policy.__dict__,
    )

    async def hold_engine() -> None:
        """Spawned first, so stopped last: closes the engine session after every other agent."""
        try:
            await asyncio.Event().wait()
        finally:
            await runtime.close()

    kubelet.syncer.cluster_dns = list(cluster_dns or [])  # ClusterFirst pods' nameservers
    kubelet.syncer.cluster_domain = cluster_domain
    sup.spawn(f"kubelet:{node_name}:engine", hold_engine, restart=False)
    if pod_network == "flannel":  # no pod lands before the agent has set the network up
        from actors.flannel.condition import NO_ROUTE, TYPE

        kubelet.node.register_conditions = [
            {"type": TYPE, "status": NO_ROUTE.status, "reason": NO_ROUTE.reason, "message": NO_ROUTE.message}
        ]
    kubelet.start(sup)
    if pod_network == "flannel":
        kubelet.network_agent = start_pod_network(
            sup, api, runtime, node_name, flannel_backend, flannel_iface, cluster_cidr, flannel_options
        )

    stats = None
    if stats_interval > 0:
        from actors.kubelet.stats import StatsCollector

        stats = StatsCollector(runtime, node_name, stats_interval)
        sup.spawn(f"kubelet:{node_name}:stats", stats.run)
    if log_stream:
        from actors.kubelet.logstream import LogStreamer

        streamer = LogStreamer(bus, api, runtime, node_name, kubelet.informer.keys)
        sup.spawn(f"kubelet:{node_name}:logstream", streamer.run)
    server_mod = _optional("actors.kubelet.server")
    if server_mod is not None and hasattr(server_mod, "KubeletServer"):
        server = server_mod.KubeletServer(bus, runtime, node_name, stats=stats)
        sup.spawn(f"kubelet:{node_name}:server", server.run)
    if manifests_dir:
        static_mod = _optional("actors.kubelet.static")
        if static_mod is not None and hasattr(static_mod, "StaticPods"):
            static = static_mod.StaticPods(manifests_dir, node_name, kubelet, api)
            sup.spawn(f"kubelet:{node_name}:static", static.run)
        else:
            log.warning("kubelet.static_pods_unavailable", manifests_dir=manifests_dir)
    gc_mod = _optional("actors.kubelet.gc")
    if gc_mod is not None:
        if hasattr(gc_mod, "ContainerGC"):
            cpolicy: Any = policy
            plan_mod = _optional("actors.kubelet.gc_plan")
            if plan_mod is not None and hasattr(plan_mod, "ContainerGCPolicy"):
                cpolicy = plan_mod.ContainerGCPolicy(
                    min_age=policy.minimum_container_ttl_duration,
                    max_per_pod_container=policy.maximum_dead_containers_per_container,
                    max_containers=policy.maximum_dead_containers,
                )
            try:
                cgc = gc_mod.ContainerGC(runtime, node_name, cpolicy, active_pods=kubelet.active_pod_uids)
            except TypeError:
                cgc = gc_mod.ContainerGC(runtime, node_name, cpolicy)
            sup.spawn(f"kubelet:{node_name}:container-gc", cgc.run)
        if hasattr(gc_mod, "ImageGC"):
            igc = gc_mod.ImageGC(runtime, policy.image_gc_high_threshold, policy.image_gc_low_threshold)
            sup.spawn(f"kubelet:{node_name}:image-gc", igc.run)

    log.info("kubelet.started", node=node_name, engine=runtime.engine, host_ip=kubelet.ctx.host_ip)
    return kubelet
