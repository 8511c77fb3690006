"""``jetkube dashboard [--address 127.0.0.1] [--port 8001] [--open]``: the web dashboard of a cluster.

Connects as every client command does (``--server``/``JETKUBE_SERVER``, cli/context.py), serves
the page (actors/dashboard) until Ctrl-C, and prints its URL. ``--port 0`` picks a free port.
``--open`` asks the desktop's browser to show it; off by default, since on a server without a
display Python's ``webbrowser`` may start a text browser in the terminal.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.context import ServerOpt, run, settings


def dashboard(
    ctx: typer.Context,
    address: Annotated[
        str, typer.Option("--address", help="Address to listen on (no login: keep it on loopback)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on; 0 picks a free one")] = 8001,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in the desktop's browser")
    ] = False,
    server: ServerOpt = None,
) -> None:
    """Serve a web page of the cluster: nodes, workloads, pods, events, logs; scale and delete."""
    opts = settings(ctx, server)

    async def work(api: Any) -> int:
        import asyncio
        import webbrowser

        from actors.dashboard.server import Dashboard
        from actors.runtime.supervisor import Supervisor

        sup = Supervisor("dashboard")
        dash = Dashboard(api, host=address, port=port)
        url = await dash.bind()
        dash.start(sup)
        typer.echo(f"jetkube dashboard: {url}  (cluster {opts.server}; stop with Ctrl-C)")
        if open_browser:
            await asyncio.to_thread(webbrowser.open, url)
        try:
            await sup.run_until_signal()
        finally:
            await sup.stop()
        return 0

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
