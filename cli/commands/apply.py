"""``jetkube apply -f FILE|DIR|- [-R]``: declarative create-or-update (see cli/apply.py)."""

from __future__ import annotations

from typing import Any

import typer

from cli.apply import plan_apply
from cli.bulk import Progress, send_all, waves
from cli.commands.common import Errors, info_of, key_of, name_of, said
from cli.context import FilenameOpt, NamespaceOpt, RecursiveOpt, ServerOpt, run, settings
from cli.manifests import read_sources
from cli.resources import display_resource, object_namespace
from schemas.errors import BadRequest, JetkubeError, NotFound
from schemas.registry import ResourceInfo
from schemas.versions import spelled_in


def apply(
    ctx: typer.Context,
    filename: FilenameOpt = None,
    recursive: RecursiveOpt = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Apply a configuration to a resource by file name or stdin (creates it if missing)."""
    opts = settings(ctx, server, namespace)
    try:
        manifests = read_sources(filename or [], recursive, verb="apply")
    except JetkubeError as err:
        from cli.context import fail

        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        objects = [m.obj for m in manifests]

        async def send(i: int) -> tuple[ResourceInfo, str, str]:
            return await apply_one(api, objects[i], opts.namespace_flag, opts.namespace)

        def report(_i: int, result: tuple[ResourceInfo, str, str] | None, err: JetkubeError | None) -> None:
            if err is not None:
                errors.report(err)
            elif result is not None:
                said(*result)

        plan = waves([key_of(o, opts.namespace_flag, opts.namespace) for o in objects])
        await send_all(len(objects), plan, send, report, Progress("applied", len(objects)))
        return errors.code

    run(opts, work)


async def apply_one(
    api: Any, obj: dict[str, Any], namespace_flag: str | None, default_ns: str
) -> tuple[ResourceInfo, str, str]:
    """Create or patch one object; returns what to say (``said(*result)``)."""
    info = info_of(obj)
    ns = object_namespace(info, obj, namespace_flag, default_ns)
    name = name_of(obj)
    if not name:
        if (obj.get("metadata") or {}).get("generateName"):
            raise BadRequest("cannot use generate name with apply")
        raise BadRequest("resource name may not be empty")
    try:  # spelled in the manifest's version: an api that disabled it refuses (--runtime-config)
        live = await api.get(spelled_in(info, str(obj.get("apiVersion") or "")), name, ns)
    except NotFound:
        live = None
    plan = plan_apply(obj, live)
    if plan.missing_annotation:
        typer.echo(
            f"Warning: resource {display_resource(info)}/{name} is missing the "
            "kubectl.kubernetes.io/last-applied-configuration annotation which is required by "
            "jetkube apply. jetkube apply should only be used on resources created declaratively "
            "by either jetkube create --save-config or jetkube apply. The missing annotation will "
            "be patched automatically.",
            err=True,
        )
    if plan.action == "create":
        body = dict(plan.body)
        if ns is not None:
            body["metadata"] = {**body.get("metadata", {}), "namespace": ns}
        await api.create(info.plural, body, ns)
        verb = "created"
    elif plan.action == "patch":
        await api.patch(info.plural, name, plan.body, "strategic", ns)
        verb = "configured"
    else:
        verb = "unchanged"
    return info, name, verb


def register(app: typer.Typer) -> None:
    app.command("apply")(apply)
