"""``jetkube label`` and ``jetkube annotate``: ``k=v`` sets, ``k-`` removes, ``--overwrite`` to change."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.commands.common import Errors, said
from cli.context import AllNamespacesOpt, NamespaceOpt, SelectorOpt, ServerOpt, fail, run, settings
from cli.edits import edit_patch, parse_edits, split_args
from cli.resources import parse_targets
from schemas.errors import BadRequest, JetkubeError


def _edit(
    ctx: typer.Context,
    args: list[str],
    field_name: str,
    what: str,
    done: str,
    overwrite: bool,
    all_: bool,
    selector: str | None,
    all_namespaces: bool,
    namespace: str | None,
    server: str | None,
) -> None:
    opts = settings(ctx, server, namespace)
    try:
        words, edit_args = split_args(args)
        edits = parse_edits(edit_args, what)
        targets = parse_targets(words, allow_all=False)
        for t in targets:
            if not t.names and not all_ and not selector:
                raise BadRequest("resource(s) were provided, but no name was specified")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        for target in targets:
            info = target.info
            ns = None if not info.namespaced or all_namespaces else opts.namespace
            if target.names:
                pairs = [(n, ns) for n in target.names]
            else:
                listing = await api.list(info.plural, ns, label_selector=selector)
                pairs = [(o["metadata"]["name"], o["metadata"].get("namespace")) for o in listing["items"]]
            for name, obj_ns in pairs:
                try:
                    obj = await api.get(info.plural, name, obj_ns)
                    current = (obj.get("metadata") or {}).get(field_name) or {}
                    body = edit_patch(current, edits, field_name, overwrite, what)
                    if body is None:
                        said(info, name, f"not {done}")
                        continue
                    body["metadata"]["resourceVersion"] = obj["metadata"].get("resourceVersion")
                    await api.patch(info.plural, name, body, "merge", obj_ns)
                    said(info, name, done)
                except JetkubeError as err:
                    errors.report(err)
        return errors.code

    run(opts, work)


ArgsArg = Annotated[list[str], typer.Argument(help="TYPE NAME... KEY=VAL ... KEY-")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Allow changing an existing key")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every object of the type in the namespace")]


def label(
    ctx: typer.Context,
    args: ArgsArg,
    overwrite: OverwriteOpt = False,
    all_: AllOpt = False,
    selector: SelectorOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Update the labels on a resource."""
    _edit(
        ctx, args, "labels", "label", "labeled", overwrite, all_, selector, all_namespaces, namespace, server
    )


def annotate(
    ctx: typer.Context,
    args: ArgsArg,
    overwrite: OverwriteOpt = False,
    all_: AllOpt = False,
    selector: SelectorOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Update the annotations on a resource."""
    _edit(
        ctx,
        args,
        "annotations",
        "annotation",
        "annotated",
        overwrite,
        all_,
        selector,
        all_namespaces,
        namespace,
        server,
    )


def register(app: typer.Typer) -> None:
    app.command("label")(label)
    app.command("annotate")(annotate)
