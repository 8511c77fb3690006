"""``jetkube convert -f FILE [--output-version V] [-o yaml|json]``: manifests in another version.

Local, as kubectl convert: nothing is sent to a server. Step 3 of the seed's API upgrade
(``kubectl convert -f pod.yaml --output-version v1``). Each object is converted through the
current version of its kind with the old version's defaults made explicit (schemas.convert), so
the result means what the input meant. Without ``--output-version`` every object goes to its
kind's current version. An ``--output-version`` of another group than an object's (a Service in a
file converted to ``apps/v1``) leaves that object in its current version; a version of its own
group that does not serve its kind is an error naming both.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.context import FilenameOpt, RecursiveOpt, local
from cli.manifests import read_sources
from cli.printers.output import to_json, to_yaml
from schemas import convert as conversions
from schemas import registry
from schemas.errors import BadRequest


def _group(gv: str) -> str:
    return gv.rsplit("/", 1)[0] if "/" in gv else ""


def target_version(obj: dict[str, Any], output_version: str | None) -> str:
    """The version one object is converted to (pure)."""
    info, _ = registry.by_api_version_kind(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    if not output_version:
        return info.api_version
    if output_version in info.served:
        return output_version
    if _group(output_version) in {_group(gv) for gv in info.served}:
        raise BadRequest(registry.no_match_message(output_version, info.kind))
    return info.api_version


def convert_objects(objects: list[dict[str, Any]], output_version: str | None) -> list[dict[str, Any]]:
    return [conversions.convert(obj, target_version(obj, output_version)) for obj in objects]


def convert(
    filename: FilenameOpt = None,
    recursive: RecursiveOpt = False,
    output_version: Annotated[
        str | None, typer.Option("--output-version", help="Group version to convert to, e.g. apps/v1")
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="yaml|json")] = "yaml",
) -> None:
    """Convert manifests between API versions (local: no server is asked)."""

    def work() -> None:
        if output not in ("yaml", "json"):
            raise BadRequest(f'--output: unsupported format "{output}": use yaml or json')
        objects = convert_objects(
            [m.obj for m in read_sources(filename or [], recursive, verb="convert")], output_version
        )
        data: Any = (
            objects[0] if len(objects) == 1 else {"apiVersion": "v1", "kind": "List", "items": objects}
        )
        text = to_yaml(data) if output == "yaml" else to_json(data)
        typer.echo(text.rstrip("\n"))

    local(work)


def register(app: typer.Typer) -> None:
    app.command("convert")(convert)
