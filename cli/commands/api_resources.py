"""``jetkube api-resources``: NAME SHORTNAMES APIVERSION NAMESPACED KIND."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.context import local
from cli.printers.table import render
from cli.resources import all_resources


def api_resources_rows(namespaced: bool | None = None, wide_names: bool = False) -> list[list[str]]:
    rows = [["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]]
    for info in sorted(all_resources(), key=lambda r: (r.group, r.plural)):
        if namespaced is not None and info.namespaced != namespaced:
            continue
        rows.append(
            [
                info.plural,
                ",".join(info.short_names),
                info.api_version,
                str(info.namespaced).lower(),
                info.kind,
            ]
        )
    return rows


def api_resources(
    namespaced: Annotated[
        bool | None, typer.Option("--namespaced", help="Only (non-)namespaced kinds")
    ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="name")] = None,
) -> None:
    """Print the supported API resources."""

    def work() -> None:
        rows = api_resources_rows(namespaced)
        if output == "name":
            for info in sorted(all_resources(), key=lambda r: (r.group, r.plural)):
                if namespaced is None or info.namespaced == namespaced:
                    typer.echo(info.plural + (f".{info.group}" if info.group else ""))
            return
        for line in render(rows):
            typer.echo(line)

    local(work)


def register(app: typer.Typer) -> None:
    app.command("api-resources")(api_resources)
