"""``jetkube proxy`` and ``jetkube dns``: the service proxy and the cluster DNS as processes.

    jetkube proxy [--server URL] [--proxy-mode iptables|userspace] [--cluster-cidr 10.244.0.0/16]
                  [--chain JETKUBE-SERVICES] [--no-node-ports]
    jetkube dns   [--server URL] [--port 0] [--advertise-address IP] [--cluster-ip 10.96.0.10]

One proxy per host (it needs root: it writes the host's nat table); one DNS server per cluster
(it publishes itself as the ``kube-dns`` Services). ``jetkube up`` runs both in its own process.
SIGTERM stops them; the proxy removes its chain on the way out. Like every jetkube process they
answer health requests (``proxy-<host>``, ``dns-<host>`` in ``get componentstatuses``) and serve
Prometheus metrics on ``--metrics-port``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from cli.serving import (
    DEFAULT_SERVER,
    LogLevelOpt,
    MetricsHostOpt,
    MetricsPortOpt,
    ServerOpt,
    served,
    start_process,
)


async def _run(server: str, name: str, start: object) -> None:
    import socket

    from actors.health.agent import HealthAgent
    from actors.runtime.supervisor import Supervisor
    from bus.connection import Bus

    bus = await Bus.connect(server, name=f"jetkube-{name}")
    sup = Supervisor(name)
    try:
        start(sup, bus)  # type: ignore[operator]
        HealthAgent(bus, sup, process_id=f"{name}-{socket.gethostname()}", role=name).start()
        await sup.run_until_signal()
    finally:
        await sup.stop()
        await bus.close()


def _main(
    server: str, name: str, start: object, log_level: str, metrics_port: int, metrics_host: str
) -> None:
    start_process(log_level)
    with served(metrics_port, metrics_host):
        asyncio.run(_run(server, name, start))


ProxyModeOpt = Annotated[
    str,
    typer.Option(
        "--proxy-mode",
        help="iptables: DNAT rules per endpoint, the kernel carries the traffic; userspace: "
        "relays in this process (retries a dead endpoint at once, slower).",
    ),
]


def proxy(
    server: ServerOpt = DEFAULT_SERVER,
    chain: Annotated[
        str, typer.Option("--chain", help="The nat chain this proxy owns.")
    ] = "JETKUBE-SERVICES",
    node_ports: Annotated[bool, typer.Option("--node-ports/--no-node-ports", help="Serve NodePorts.")] = True,
    udp_timeout: Annotated[
        float, typer.Option("--udp-timeout", help="Idle UDP session timeout, s (userspace mode).")
    ] = 1.0,
    proxy_mode: ProxyModeOpt = "iptables",
    cluster_cidr: Annotated[
        str,
        typer.Option(
            "--cluster-cidr",
            help="The pods' CIDR: traffic to a ClusterIP from outside it is masqueraded (iptables "
            "mode); '' for none.",
        ),
    ] = "10.244.0.0/16",
    log_level: LogLevelOpt = "info",
    metrics_port: MetricsPortOpt = 0,
    metrics_host: MetricsHostOpt = "127.0.0.1",
) -> None:
    """Run the service proxy: Service ClusterIPs and NodePorts to ready endpoints (needs root)."""
    from actors.proxy.process import check_cluster_cidr, check_mode, start_proxy

    with served():  # a bad flag: one line, before anything starts
        check_mode(proxy_mode)
        cluster_cidr = check_cluster_cidr(cluster_cidr)

    def start(sup: object, bus: object) -> None:
        start_proxy(
            sup,  # type: ignore[arg-type]
            bus,
            chain=chain,
            mode=proxy_mode,
            cluster_cidr=cluster_cidr,
            node_ports=node_ports,
            udp_timeout=udp_timeout,
        )

    _main(server, "proxy", start, log_level, metrics_port, metrics_host)


def dns(
    server: ServerOpt = DEFAULT_SERVER,
    port: Annotated[int, typer.Option("--port", help="UDP and TCP port to listen on (0: any free).")] = 0,
    advertise_address: Annotated[
        str, typer.Option("--advertise-address", help="Address pods reach this server at (default: host's).")
    ] = "",
    cluster_ip: Annotated[
        str, typer.Option("--cluster-ip", help="kube-system/kube-dns's ClusterIP.")
    ] = "10.96.0.10",
    domain: Annotated[str, typer.Option("--cluster-domain")] = "cluster.local",
    log_level: LogLevelOpt = "info",
    metrics_port: MetricsPortOpt = 0,
    metrics_host: MetricsHostOpt = "127.0.0.1",
) -> None:
    """Run the cluster DNS: <svc>.<ns>.svc.cluster.local from Services and Endpoints."""
    from actors.dns.process import start_dns

    def start(sup: object, bus: object) -> None:
        start_dns(
            sup,  # type: ignore[arg-type]
            bus,
            port=port,
            advertise_ip=advertise_address or None,
            cluster_ip=cluster_ip,
            domain=domain,
        )

    _main(server, "dns", start, log_level, metrics_port, metrics_host)


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy)
    app.command("dns")(dns)
