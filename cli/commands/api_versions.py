"""``jetkube api-versions``: the group versions the api serves, one per line (kubectl's output).

Asked of the api (``jetkube.api.apiversions``), since ``--runtime-config`` may have turned some
off; ``--storage`` also prints the version each group is written in (``--storage-versions``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.context import ServerOpt, run, settings


def api_versions(
    ctx: typer.Context,
    storage: Annotated[
        bool, typer.Option("--storage", help="Also the storage version of each group")
    ] = False,
    server: ServerOpt = None,
) -> None:
    """Print the supported API versions on the server, in the form "group/version"."""
    opts = settings(ctx, server)

    async def work(api: Any) -> int:
        answer = await api.call("apiversions", {})
        for gv in answer.get("groupVersions") or []:
            typer.echo(gv)
        if storage:
            typer.echo("")
            typer.echo("GROUP\tSTORAGE VERSION")
            for group, gv in sorted((answer.get("storage") or {}).items()):
                typer.echo(f"{group or 'core'}\t{gv}")
        return 0

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("api-versions")(api_versions)
