"""``jetkube kubelet``: run one node's kubelet against a cluster's NATS server.

    jetkube kubelet --node-name n1 --server nats://10.0.0.1:4222 [--docker-host unix:///...]
        [--node-labels k=v,...] [--manifests-dir DIR] [--heartbeat-interval 10] [GC flags]
        [--pod-network docker|flannel] [--flannel-backend vxlan|host-gw] [--flannel-iface IFACE]

Several kubelets with different node names may share one Docker engine: each touches only the
containers labelled with its node. SIGTERM stops it in order (running containers keep running; a
kubelet started again adopts them).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Annotated

import typer

from cli.serving import (
    DEFAULT_SERVER,
    LogLevelOpt,
    MemoryLimitOpt,
    MetricsHostOpt,
    MetricsPortOpt,
    ServerOpt,
    served,
    start_process,
)
from schemas.errors import ServiceUnavailable


def parse_duration(text: str) -> float:
    """``1m30s``, ``10s``, ``2h``, ``500ms`` or plain seconds -> seconds."""
    import re

    text = text.strip()
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        pass
    total = 0.0
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise typer.BadParameter(f"invalid duration {text!r} (use e.g. 1m30s, 10s)")
    for value, unit in parts:
        total += float(value) * units[unit]
    return total


def pod_network_problem(pod_network: str, backend: str, cluster_cidr: str) -> str:
    """What is wrong with the pod network flags, naming the flag; "" when nothing."""
    import ipaddress

    if pod_network not in ("docker", "flannel"):
        return f'--pod-network: Unsupported value: "{pod_network}": supported values: "docker", "flannel"'
    if backend not in ("vxlan", "host-gw"):
        return f'--flannel-backend: Unsupported value: "{backend}": supported values: "vxlan", "host-gw"'
    if not cluster_cidr:
        return ""  # the control plane's (kube-system/jetkube-cluster-config)
    try:
        net = ipaddress.ip_network(cluster_cidr, strict=True)
    except ValueError as exc:
        return f'--cluster-cidr: Invalid value: "{cluster_cidr}": must be a valid CIDR ({exc})'
    if not isinstance(net, ipaddress.IPv4Network):
        return f'--cluster-cidr: Invalid value: "{cluster_cidr}": must be an IPv4 CIDR'
    return ""


async def run_kubelet(server: str, node_name: str, options: dict) -> None:
    from actors.kubelet.process import start_kubelet
    from actors.runtime.memguard import start_watch
    from actors.runtime.supervisor import Supervisor
    from bus.connection import Bus

    bus = await Bus.connect(server, name=f"jetkube-kubelet-{node_name}")
    sup = Supervisor(f"kubelet-{node_name}")
    start_watch(sup)  # --memory-limit: stop in order before the OOM killer would
    try:
        kubelet = await start_kubelet(sup, bus, node_name=node_name, **options)
        if not kubelet:
            engine = options.get("docker_host") or "the local Docker engine"
            raise ServiceUnavailable(
                f"Docker engine at {engine} is unreachable. "
                "Is the engine running, and is --docker-host right?"
            )
        from actors.health.agent import HealthAgent

        HealthAgent(
            bus, sup, process_id=f"kubelet-{node_name}", role="kubelet", extra=lambda: {"node": node_name}
        ).start()
        await sup.run_until_signal()
    finally:
        await sup.stop()
        await bus.close()


def kubelet(
    node_name: Annotated[
        str, typer.Option("--node-name", help="This node's name (default: the host name).")
    ] = "",
    server: ServerOpt = DEFAULT_SERVER,
    docker_host: Annotated[
        str,
        typer.Option("--docker-host", help="Docker engine URL (default: $DOCKER_HOST or the local socket)."),
    ] = "",
    node_labels: Annotated[str, typer.Option("--node-labels", help="Extra node labels, k=v,k2=v2.")] = "",
    manifests_dir: Annotated[
        str, typer.Option("--manifests-dir", help="Folder of static pod manifests.")
    ] = "",
    heartbeat_interval: Annotated[
        float, typer.Option("--heartbeat-interval", help="Seconds between node heartbeats.")
    ] = 10.0,
    resync_period: Annotated[
        float, typer.Option("--sync-frequency", help="Seconds between full pod resyncs.")
    ] = 10.0,
    root_dir: Annotated[
        str, typer.Option("--root-dir", help="The kubelet's state dir (volumes, termination messages).")
    ] = "",
    minimum_container_ttl_duration: Annotated[
        str,
        typer.Option(
            "--minimum-container-ttl-duration", help="Minimum age of a dead container before GC, e.g. 1m."
        ),
    ] = "0s",
    maximum_dead_containers_per_container: Annotated[
        int, typer.Option("--maximum-dead-containers-per-container")
    ] = 1,
    maximum_dead_containers: Annotated[
        int, typer.Option("--maximum-dead-containers", help="-1: no limit.")
    ] = -1,
    image_gc_high_threshold: Annotated[int, typer.Option("--image-gc-high-threshold")] = 90,
    image_gc_low_threshold: Annotated[int, typer.Option("--image-gc-low-threshold")] = 80,
    log_level: LogLevelOpt = "info",
    memory_limit: MemoryLimitOpt = "",
    stats_interval: Annotated[
        float, typer.Option("--stats-interval", help="Seconds between CPU/memory samples (top); 0: off.")
    ] = 10.0,
    log_stream: Annotated[
        bool,
        typer.Option(
            "--log-stream/--no-log-stream", help="Publish opted-in namespaces' logs to JETKUBE_LOGS."
        ),
    ] = True,
    metrics_port: MetricsPortOpt = 0,
    metrics_host: MetricsHostOpt = "127.0.0.1",
    credentials: Annotated[
        str,
        typer.Option(
            "--credentials", envvar="JETKUBE_CREDENTIALS", help="This node's NATS credentials (JSON file)."
        ),
    ] = "",
    cluster_dns: Annotated[
        str,
        typer.Option(
            "--cluster-dns", help="ClusterFirst pods' DNS server IPs, comma-separated (kube-dns's ClusterIP)."
        ),
    ] = "",
    cluster_domain: Annotated[str, typer.Option("--cluster-domain")] = "cluster.local",
    cluster_id: Annotated[
        str,
        typer.Option(
            "--cluster-id",
            help="Label every container io.jetkube.cluster=ID (a jetkube up data dir's cluster-id: "
            "jetkube down of that dir removes them).",
        ),
    ] = "",
    pod_network: Annotated[
        str,
        typer.Option(
            "--pod-network",
            help="docker: pods on the engine's default bridge (one host); flannel: pods on the Node's "
            "spec.podCIDR, routed across hosts.",
        ),
    ] = "docker",
    flannel_backend: Annotated[
        str,
        typer.Option("--flannel-backend", help="vxlan (UDP 8472 between hosts) or host-gw (one L2 network)."),
    ] = "vxlan",
    flannel_iface: Annotated[
        str,
        typer.Option("--flannel-iface", help="The interface between hosts (default: the default route's)."),
    ] = "",
    cluster_cidr: Annotated[
        str,
        typer.Option(
            "--cluster-cidr",
            help="The pod network, not masqueraded (default: the one the control plane publishes in "
            "kube-system/jetkube-cluster-config).",
        ),
    ] = "",
) -> None:
    """Run a kubelet: register the node and run the pods bound to it on Docker."""
    from actors.kubelet.node_status import parse_node_labels
    from actors.kubelet.process import GCPolicy

    start_process(log_level, memory_limit)
    if not 0 <= image_gc_low_threshold <= image_gc_high_threshold <= 100:
        typer.echo("error: need 0 <= --image-gc-low-threshold <= --image-gc-high-threshold <= 100", err=True)
        raise typer.Exit(2)
    network_problem = pod_network_problem(pod_network, flannel_backend, cluster_cidr)
    if network_problem:
        typer.echo(f"error: {network_problem}", err=True)
        raise typer.Exit(2)
    options = {
        "docker_host": docker_host or None,
        "node_labels": parse_node_labels(node_labels),
        "manifests_dir": manifests_dir or None,
        "heartbeat_interval": heartbeat_interval,
        "resync_period": resync_period,
        "state_dir": root_dir or None,
        "gc": GCPolicy(
            minimum_container_ttl_duration=parse_duration(minimum_container_ttl_duration),
            maximum_dead_containers_per_container=maximum_dead_containers_per_container,
            maximum_dead_containers=maximum_dead_containers,
            image_gc_high_threshold=image_gc_high_threshold,
            image_gc_low_threshold=image_gc_low_threshold,
        ),
        "stats_interval": stats_interval,
        "log_stream": log_stream,
        "cluster_dns": [ip.strip() for ip in cluster_dns.split(",") if ip.strip()] or None,
        "cluster_domain": cluster_domain,
        "cluster_id": cluster_id,
        "pod_network": pod_network,
        "flannel_backend": flannel_backend,
        "flannel_iface": flannel_iface,
        "cluster_cidr": cluster_cidr,
    }
    with served(metrics_port, metrics_host):
        from bus.auth import url_with_credentials

        server = url_with_credentials(server, credentials or None)
        asyncio.run(run_kubelet(server, node_name or socket.gethostname().lower(), options))


def register(app: typer.Typer) -> None:
    app.command("kubelet")(kubelet)
