"""``jetkube replace -f FILE`` and the seed's ``replace nodes N --patch='{...}'``.

``replace TYPE NAME --patch=JSON`` is how kubectl 1.2 spelled a patch-then-replace: the patch (a
strategic merge patch) is applied to the live object here, and the result is written back with
compare-and-set on the revision it was read at (retried on Conflict). Newer kubectl has no
``--patch`` on replace; ``jetkube patch`` is the modern spelling of the same change.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

import typer

from cli.commands.common import Errors, info_of, name_of, parse_json_arg, said
from cli.context import FilenameOpt, NamespaceOpt, RecursiveOpt, ServerOpt, fail, run, settings
from cli.manifests import read_sources
from cli.resources import object_namespace, parse_targets
from schemas.errors import BadRequest, Conflict, JetkubeError, NotFound
from schemas.patch import apply_patch


def replace(
    ctx: typer.Context,
    args: Annotated[list[str] | None, typer.Argument(help="TYPE NAME, with --patch")] = None,
    filename: FilenameOpt = None,
    recursive: RecursiveOpt = False,
    patch: Annotated[
        str | None, typer.Option("--patch", help="kubectl 1.2: patch the live object, then replace")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Delete and re-create the resource")] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Replace a resource by file name or stdin."""
    opts = settings(ctx, server, namespace)
    try:
        if patch is not None:
            targets = parse_targets(args or [], allow_all=False)
            if len(targets) != 1 or len(targets[0].names) != 1:
                raise BadRequest("replace --patch takes exactly one TYPE NAME")
            body = parse_json_arg(patch)
            if not isinstance(body, dict):
                raise BadRequest("--patch must be a JSON object")
            objects: list[dict[str, Any]] = []
        else:
            if args:
                raise BadRequest("replace takes -f FILE (or TYPE NAME --patch=JSON)")
            objects = [m.obj for m in read_sources(filename or [], recursive, verb="replace")]
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        if patch is not None:
            target = targets[0]
            ns = opts.namespace if target.info.namespaced else None
            await patch_and_replace(api, target.info.plural, target.names[0], body, ns)
            said(target.info, target.names[0], "replaced")
            return 0
        for obj in objects:
            try:
                info = info_of(obj)
                ns = object_namespace(info, obj, opts.namespace_flag, opts.namespace)
                name = name_of(obj)
                if force:
                    try:
                        await api.delete(info.plural, name, ns, grace_period_seconds=0)
                        said(info, name, "deleted")
                    except NotFound:
                        pass
                    await api.create(info.plural, obj, ns)
                else:
                    await api.get(info.plural, name, ns)  # NotFound as kubectl says it
                    await api.update(info.plural, obj, ns)
                said(info, name, "replaced")
            except JetkubeError as err:
                errors.report(err)
        return errors.code

    run(opts, work)


async def patch_and_replace(
    api: Any, plural: str, name: str, body: dict[str, Any], ns: str | None, attempts: int = 5
) -> dict[str, Any]:
    for attempt in range(attempts):
        live = await api.get(plural, name, ns)
        changed = apply_patch(copy.deepcopy(live), body, "strategic")
        changed.setdefault("metadata", {})["resourceVersion"] = live["metadata"].get("resourceVersion")
        try:
            return await api.update(plural, changed, ns)
        except Conflict:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def register(app: typer.Typer) -> None:
    app.command("replace")(replace)
