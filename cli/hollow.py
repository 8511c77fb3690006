"""``jetkube hollow-nodes``: N simulated kubelets in one process, without Docker.

They register Nodes (``type=hollow``), heartbeat, receive only their own pods through the node
relay, report them Running after ``--startup-delay`` (or Failed at ``--failure-rate``) and delete
them on request. For scale tests and benchmarks; see ``actors/hollow/fleet.py``.

``--credentials FILE`` joins any cluster that requires them (every ``jetkube up``): the file
``jetkube up`` writes to ``<data-dir>/credentials/hollow-nodes.json`` logs in as the fleet's own
user ``hollow-nodes``, which may touch only Nodes labelled ``type=hollow`` and the pods bound to
them (actors/api/authz/hollow.py); its server is used unless ``--server`` is given. Such a fleet
may not write the state bucket, so its heartbeats go through the api (``--heartbeat-via api``).
``jetkube up --hollow-nodes N`` runs a fleet in the cluster's process the same way.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

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


def start_fleet(sup: Any, bus: Any, settings_kw: dict, *, health: bool = True) -> Any:
    """Start a fleet under ``sup`` on ``bus``, and its health agent unless the process has one
    (``jetkube up``); the fleet (``await fleet.ready()``)."""
    from actors.health.agent import HealthAgent
    from actors.hollow.fleet import HollowFleet, HollowSettings

    settings = HollowSettings(**settings_kw)
    fleet = HollowFleet(bus, settings)
    fleet.start(sup)
    if health:
        process_id = f"hollow-nodes-{settings.prefix.rstrip('-')}"
        HealthAgent(bus, sup, process_id=process_id, role="hollow-nodes").start()
    return fleet


async def run_hollow(server: str, settings_kw: dict) -> None:
    from actors.hollow.fleet import HollowSettings
    from actors.runtime.supervisor import Supervisor
    from bus.connection import Bus

    settings = HollowSettings(**settings_kw)
    bus = await Bus.connect(server, name="jetkube-hollow-nodes", pending_size=64 * 1024 * 1024)
    sup = Supervisor("hollow-nodes")
    fleet = start_fleet(sup, bus, settings_kw)
    try:
        await fleet.ready(timeout=max(120.0, settings.count / 20))
        typer.echo(f"{settings.count} hollow nodes ready ({settings.prefix}{settings.start_index}...)")
        await sup.run_until_signal()
    finally:
        await sup.stop()
        await bus.close()


def hollow_nodes(
    count: Annotated[int, typer.Option("--count", "-n", help="How many hollow nodes.")] = 10,
    prefix: Annotated[str, typer.Option("--prefix", help="Node names: <prefix><index>.")] = "hollow-",
    start_index: Annotated[int, typer.Option("--start-index", help="First node index.")] = 0,
    startup_delay: Annotated[
        float, typer.Option("--startup-delay", help="Seconds from bind to Running.")
    ] = 0.0,
    failure_rate: Annotated[
        float, typer.Option("--failure-rate", help="Fraction of pods that fail at start (0..1).")
    ] = 0.0,
    heartbeat_interval: Annotated[
        float, typer.Option("--heartbeat-interval", help="Seconds between a node's heartbeats.")
    ] = 10.0,
    heartbeat_via: Annotated[
        str,
        typer.Option(
            "--heartbeat-via",
            help="store (pipelined CAS batch; the default without --credentials) or api (update_status).",
        ),
    ] = "",
    per_node_subscriptions: Annotated[
        bool,
        typer.Option(
            "--per-node-subscriptions/--wildcard-subscription",
            help="One NATS subscription per node, or one routed in-process (default).",
        ),
    ] = False,
    cpu: Annotated[str, typer.Option("--cpu", help="Capacity per node.")] = "4",
    memory: Annotated[str, typer.Option("--memory", help="Capacity per node.")] = "16Gi",
    pods: Annotated[int, typer.Option("--pods", help="Pod capacity per node.")] = 110,
    server: ServerOpt = DEFAULT_SERVER,
    credentials: Annotated[
        str,
        typer.Option(
            "--credentials",
            help="NATS credentials (JSON), e.g. <data-dir>/credentials/hollow-nodes.json from jetkube up.",
        ),
    ] = "",
    log_level: LogLevelOpt = "info",
    metrics_port: MetricsPortOpt = 0,
    metrics_host: MetricsHostOpt = "127.0.0.1",
) -> None:
    """Run N hollow kubelets (simulated nodes, no Docker) against a cluster."""

    if not 0.0 <= failure_rate <= 1.0:
        typer.echo("--failure-rate must be between 0 and 1", err=True)
        raise typer.Exit(2)
    heartbeat_via = heartbeat_via or ("api" if credentials else "store")
    if heartbeat_via not in ("store", "api"):
        typer.echo("--heartbeat-via must be store or api", err=True)
        raise typer.Exit(2)
    if credentials:
        if heartbeat_via == "store":
            typer.echo(
                "error: --heartbeat-via store writes the state bucket, which only the control plane may: "
                "with --credentials use --heartbeat-via api",
                err=True,
            )
            raise typer.Exit(2)
        server = _server_with_credentials(server, credentials)
    start_process(log_level)
    kw = {
        "count": count,
        "prefix": prefix,
        "start_index": start_index,
        "startup_delay": startup_delay,
        "failure_rate": failure_rate,
        "heartbeat_interval": heartbeat_interval,
        "heartbeat_via": heartbeat_via,
        "per_node_subscriptions": per_node_subscriptions,
        "capacity": {"cpu": cpu, "memory": memory, "pods": str(pods)},
    }
    with served(metrics_port, metrics_host):
        asyncio.run(run_hollow(server, kw))


def _server_with_credentials(server: str, path: str) -> str:
    """``server`` (or the file's own server when --server was not given) with the file's login."""
    from pathlib import Path

    from bus.auth import read_credentials_file, url_with_credentials

    try:
        data = read_credentials_file(Path(path))
    except (OSError, ValueError) as exc:
        typer.echo(f"error: --credentials {path}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if server == DEFAULT_SERVER and data.get("server"):
        server = data["server"]
    return url_with_credentials(server, path)


def register(app: typer.Typer) -> None:
    app.command("hollow-nodes")(hollow_nodes)
