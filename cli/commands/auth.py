"""``jetkube auth can-i VERB RESOURCE [NAME] [-n NS] [--as USER]``: would the api allow it?

Asks the api (verb ``cani``), which evaluates the node authorizer and RBAC for the connection's
user, or for ``--as`` when the caller may impersonate. Prints ``yes`` (exit 0) or ``no`` (exit 1),
as kubectl does.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.context import AsOpt, NamespaceOpt, ServerOpt, run, settings

app = typer.Typer(help="Inspect authorization.", no_args_is_help=True)


@app.command("can-i")
def can_i(
    ctx: typer.Context,
    verb: Annotated[str, typer.Argument(help="get, list, watch, create, update, patch, delete, *")],
    resource: Annotated[str, typer.Argument(help="pods, deployments.apps, pods/status, *")],
    name: Annotated[str | None, typer.Argument(help="A resource name")] = None,
    namespace: NamespaceOpt = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A")] = False,
    as_user: AsOpt = None,
    server: ServerOpt = None,
) -> None:
    """Check whether an action is allowed: prints yes or no."""
    opts = settings(ctx, server, namespace)
    ns = None if all_namespaces else opts.namespace

    async def work(api: Any) -> int:
        if as_user:
            api.impersonate = as_user
        answer = await api.can_i(verb, resource, ns, name)
        typer.echo("yes" if answer.get("allowed") else "no")
        return 0 if answer.get("allowed") else 1

    run(opts, work)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="auth")
