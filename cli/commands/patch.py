"""``jetkube patch TYPE NAME -p JSON [--type strategic|merge|json]`` (also ``TYPE/NAME``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.commands.common import parse_json_arg, said
from cli.context import NamespaceOpt, ServerOpt, fail, run, settings
from cli.resources import parse_targets
from schemas.errors import BadRequest, JetkubeError


def patch(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="TYPE NAME | TYPE/NAME")],
    patch_text: Annotated[str, typer.Option("--patch", "-p", help="The patch, JSON or YAML")],
    patch_type: Annotated[
        str, typer.Option("--type", help="strategic (default), merge or json")
    ] = "strategic",
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Update fields of a resource with a strategic merge, JSON merge or JSON patch."""
    opts = settings(ctx, server, namespace)
    try:
        if patch_type not in ("strategic", "merge", "json"):
            raise BadRequest(f"--type must be one of [json merge strategic], not {patch_type!r}")
        targets = parse_targets(args, allow_all=False)
        pairs = [(t.info, n) for t in targets for n in t.names]
        if not pairs:
            raise BadRequest("resource(s) were provided, but no name was specified")
        body = parse_json_arg(patch_text)
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        for info, name in pairs:
            ns = opts.namespace if info.namespaced else None
            before = await api.get(info.plural, name, ns)
            after = await api.patch(info.plural, name, body, patch_type, ns)
            changed = _rv(before) != _rv(after)
            said(info, name, "patched" if changed else "patched (no change)")
        return 0

    run(opts, work)


def _rv(obj: dict[str, Any]) -> Any:
    return (obj.get("metadata") or {}).get("resourceVersion")


def register(app: typer.Typer) -> None:
    app.command("patch")(patch)
