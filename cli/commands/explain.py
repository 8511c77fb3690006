"""``jetkube explain TYPE[.field...]`` (see cli/explain.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.context import local
from cli.explain import explain as explain_text


def explain(resource: Annotated[str, typer.Argument(help="TYPE or TYPE.field.path")]) -> None:
    """Describe the fields of a resource."""
    local(lambda: typer.echo(explain_text(resource), nl=False))


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
