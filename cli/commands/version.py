"""``jetkube version``: the client's version and, when reachable, the cluster's."""

from __future__ import annotations

import asyncio
import platform
from importlib import metadata
from typing import Annotated, Any

import typer

from cli import context
from cli.context import ServerOpt, settings
from schemas.errors import JetkubeError


def client_version() -> str:
    try:
        return metadata.version("jetkube")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def version(
    ctx: typer.Context,
    client: Annotated[bool, typer.Option("--client", help="Only the client version")] = False,
    server: ServerOpt = None,
) -> None:
    """Print the client and server version information."""
    opts = settings(ctx, server)
    typer.echo(f"Client Version: v{client_version()}")
    typer.echo(f"Python Version: {platform.python_version()}")
    if client:
        return

    async def ask() -> Any:
        async with context.connector(opts.url) as api:
            call = getattr(api, "version", None)
            if call is not None:
                return await call()
            await api.list("namespaces")
            return None

    try:
        answer = asyncio.run(ask())
    except JetkubeError as err:
        context.fail(err)
    except (OSError, TimeoutError) as exc:
        typer.echo(f"error: cannot reach NATS at {opts.server}: {exc}", err=True)
        raise typer.Exit(1) from None
    server_version = answer.get("gitVersion") if isinstance(answer, dict) else None
    typer.echo(f"Server Version: {server_version or 'v' + client_version()} ({opts.server})")


def register(app: typer.Typer) -> None:
    app.command("version")(version)
