"""``jetkube controlplane``: one replica of the control plane (api, scheduler, controllers) on a
NATS server of your own, e.g. the test bed's cluster. Singletons are leader-elected."""

from __future__ import annotations

import asyncio
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
from cli.up import (
    APISERVER_PORT_OPT,
    CLUSTER_CIDR_OPT,
    NODE_CIDR_MASK_OPT,
    RUNTIME_CONFIG_OPT,
    STORAGE_VERSIONS_OPT,
    default_data_dir,
)
from schemas.errors import JetkubeError


async def run_controlplane(
    server: str, identity: str | None, replicas: int, settings_kw: dict, gateway_kw: dict | None = None
) -> None:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.runtime.memguard import start_watch
    from actors.runtime.supervisor import Supervisor
    from bus.connection import Bus
    from bus.events import ensure_stream
    from bus.store import Store

    bus = await Bus.connect(server, name="jetkube-controlplane")
    store = await Store.open(bus, replicas=replicas)
    await ensure_stream(bus, replicas=replicas)
    from bus.logs import ensure_log_stream

    await ensure_log_stream(bus, replicas=replicas)
    settings = ControlPlaneSettings(**{k: v for k, v in settings_kw.items() if v is not None})
    if identity:
        settings.identity = identity
    sup = Supervisor()
    start_watch(sup)  # --memory-limit: stop in order before the OOM killer would
    start_control_plane(sup, bus, store, settings)
    if gateway_kw and gateway_kw.get("port"):
        await _start_gateway(sup, bus, **gateway_kw)
    from actors.health.agent import HealthAgent

    HealthAgent(bus, sup, process_id=settings.identity, role="controlplane", replicas=replicas).start()
    try:
        await sup.run_until_signal()
    finally:
        await sup.stop()
        await bus.close()


async def _start_gateway(
    sup: object,
    bus: object,
    *,
    port: int,
    pki_dir: str,
    tokens: dict[str, str],
    encryption_key_file: str = "",
) -> None:
    """The Kubernetes API over HTTPS beside this replica (actors/gateway), with the cluster's CA
    (kept in the store, sealed with the Secrets keys if any); a warning if it cannot listen.
    Bearer tokens: ``{token: NATS user}``."""
    from pathlib import Path

    import structlog

    from actors.gateway.server import Gateway
    from actors.kubelet.process import host_ip

    gateway = Gateway(
        bus,  # type: ignore[arg-type]
        pki_dir=Path(pki_dir),
        tokens=tokens,
        port=port,
        in_cluster_address=host_ip(),
        encryption_key_file=Path(encryption_key_file) if encryption_key_file else None,
    )
    try:
        await gateway.bind()
    except JetkubeError as err:
        structlog.get_logger(__name__).warning("controlplane.no_apiserver", reason=err.message)
        return
    gateway.start(sup)  # type: ignore[arg-type]


def _tokens(auth_file: str) -> dict[str, str]:
    """The bearer tokens of an ``auth.json`` (each user's NATS password), the control plane's left out."""
    import json
    from pathlib import Path

    from bus.auth import CONTROLPLANE

    users = json.loads(Path(auth_file).read_text())["users"] if auth_file else {}
    return {password: user for user, password in users.items() if user != CONTROLPLANE}


def controlplane(
    server: ServerOpt = DEFAULT_SERVER,
    identity: Annotated[str, typer.Option("--identity", help="Lease holder identity.")] = "",
    replicas: Annotated[int, typer.Option("--replicas", help="JetStream replicas of the state.")] = 1,
    node_monitor_grace_period: Annotated[float, typer.Option("--node-monitor-grace-period")] = 40.0,
    pod_eviction_timeout: Annotated[float, typer.Option("--pod-eviction-timeout")] = 300.0,
    terminated_pod_gc_threshold: Annotated[int, typer.Option("--terminated-pod-gc-threshold")] = 12500,
    service_cluster_ip_range: Annotated[str, typer.Option("--service-cluster-ip-range")] = "10.96.0.0/12",
    lease_duration: Annotated[float, typer.Option("--lease-duration")] = 15.0,
    hpa_sync_period: Annotated[float, typer.Option("--horizontal-pod-autoscaler-sync-period")] = 15.0,
    cluster_cidr: Annotated[str, CLUSTER_CIDR_OPT] = "10.244.0.0/16",
    node_cidr_mask_size: Annotated[int, NODE_CIDR_MASK_OPT] = 24,
    log_level: LogLevelOpt = "info",
    memory_limit: MemoryLimitOpt = "",
    metrics_port: MetricsPortOpt = 0,
    metrics_host: MetricsHostOpt = "127.0.0.1",
    runtime_config: Annotated[str, RUNTIME_CONFIG_OPT] = "",
    storage_versions: Annotated[str, STORAGE_VERSIONS_OPT] = "",
    ingress_port: Annotated[
        int, typer.Option("--ingress-port", help="Serve Ingresses on this port (all addresses); 0: not here.")
    ] = 0,
    credentials: Annotated[
        str,
        typer.Option("--credentials", envvar="JETKUBE_CREDENTIALS", help="NATS credentials (JSON file)."),
    ] = "",
    encryption_key_file: Annotated[
        str, typer.Option("--encryption-key-file", help="Encrypt Secrets at rest with these keys (JSON).")
    ] = "",
    apiserver_port: Annotated[int, APISERVER_PORT_OPT] = 6443,
    apiserver_pki_dir: Annotated[
        str,
        typer.Option(
            "--apiserver-pki-dir",
            help="The Kubernetes API's CA (the cluster's, kept in the store) and this replica's certificate.",
        ),
    ] = "",
    apiserver_tokens: Annotated[
        str,
        typer.Option("--apiserver-tokens", help="Bearer tokens: the users and passwords of an auth.json."),
    ] = "",
) -> None:
    """Run one control-plane replica (api, scheduler, controllers) against a NATS server."""
    from actors.nodeipam.pool import parse_pool
    from schemas.versions import build as build_versions

    start_process(log_level, memory_limit)
    try:
        build_versions(runtime_config, storage_versions)  # bad flags: one line, before connecting
        parse_pool(cluster_cidr, node_cidr_mask_size)
    except JetkubeError as err:
        typer.echo(err.cli_line(), err=True)
        raise typer.Exit(1) from None
    kw = {
        "node_monitor_grace_period": node_monitor_grace_period,
        "pod_eviction_timeout": pod_eviction_timeout,
        "terminated_pod_gc_threshold": terminated_pod_gc_threshold,
        "service_cluster_ip_range": service_cluster_ip_range,
        "lease_duration": lease_duration,
        "renew_deadline": lease_duration * 2 / 3,
        "runtime_config": runtime_config,
        "storage_versions": storage_versions,
        "ingress_port": ingress_port,
        "encryption_key_file": encryption_key_file or None,
        "hpa_sync_period": hpa_sync_period,
        "cluster_cidr": cluster_cidr,
        "node_cidr_mask_size": node_cidr_mask_size,
    }
    with served(metrics_port, metrics_host):
        from bus.auth import url_with_credentials

        server = url_with_credentials(server, credentials or None)
        pki_dir = apiserver_pki_dir or str(default_data_dir() / "pki")
        gateway_kw = {
            "port": apiserver_port,
            "pki_dir": pki_dir,
            "tokens": _tokens(apiserver_tokens),
            "encryption_key_file": encryption_key_file,
        }
        asyncio.run(run_controlplane(server, identity or None, replicas, kw, gateway_kw))


def register(app: typer.Typer) -> None:
    app.command("controlplane")(controlplane)
