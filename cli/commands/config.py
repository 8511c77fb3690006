"""``jetkube config view|get-contexts|current-context|use-context``: the client config file.

The file and how a command picks its context are described in cli/config.py. ``view`` shows
passwords as REDACTED unless ``--raw`` is given, as kubectl does.
"""

from __future__ import annotations

from typing import Annotated

import typer
import yaml

from cli import config as cfg
from cli.context import local
from schemas.errors import BadRequest

app = typer.Typer(help="Show and change the client config file (contexts).", no_args_is_help=True)


@app.command("view")
def view(raw: Annotated[bool, typer.Option("--raw", help="Show the passwords too")] = False) -> None:
    """Print the config file (passwords REDACTED unless --raw)."""

    def work() -> None:
        data = cfg.load()
        typer.echo(yaml.safe_dump(data if raw else cfg.redacted(data), sort_keys=False).rstrip())

    local(work)


@app.command("get-contexts")
def get_contexts() -> None:
    """List the contexts; * marks the current one."""

    def work() -> None:
        data = cfg.load()
        current = data.get("current-context")
        rows = [("CURRENT", "NAME", "SERVER", "USER")]
        for name, c in cfg.contexts(data).items():
            rows.append(
                ("*" if name == current else "", name, str(c.get("server", "")), str(c.get("user", "")))
            )
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            typer.echo("   ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())

    local(work)


@app.command("current-context")
def current_context() -> None:
    """Print the current context's name."""

    def work() -> None:
        current = cfg.load().get("current-context")
        if not current:
            raise BadRequest("current-context is not set")
        typer.echo(current)

    local(work)


@app.command("use-context")
def use_context(name: Annotated[str, typer.Argument(help="The context to make current")]) -> None:
    """Make NAME the current context."""

    def work() -> None:
        data = cfg.load()
        if name not in cfg.contexts(data):
            raise BadRequest(f'no context exists with the name: "{name}"')
        data["current-context"] = name
        cfg.save(data)
        typer.echo(f'Switched to context "{name}".')

    local(work)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="config")
