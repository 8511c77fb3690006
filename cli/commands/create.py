"""``jetkube create -f FILE`` and ``jetkube create namespace NAME``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.apply import annotated
from cli.bulk import Progress, send_all, waves
from cli.commands.common import Errors, info_of, key_of, name_of, said
from cli.context import FilenameOpt, NamespaceOpt, RecursiveOpt, ServerOpt, fail, run, settings
from cli.manifests import read_sources
from cli.resources import lookup, object_namespace
from schemas.errors import BadRequest, JetkubeError
from schemas.registry import ResourceInfo


def create(
    ctx: typer.Context,
    args: Annotated[list[str] | None, typer.Argument(help="namespace NAME (or use -f)")] = None,
    filename: FilenameOpt = None,
    recursive: RecursiveOpt = False,
    save_config: Annotated[
        bool, typer.Option("--save-config", help="Store the last-applied annotation")
    ] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Create a resource from a file or from stdin (or a namespace by name)."""
    opts = settings(ctx, server, namespace)
    objects: list[dict[str, Any]]
    try:
        if filename:
            objects = [m.obj for m in read_sources(filename, recursive, verb="create")]
        elif args and len(args) == 2 and lookup(args[0]).plural == "namespaces":
            objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": args[1]}}]
        else:
            raise BadRequest("must specify one of -f and -k, or `create namespace NAME`")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()

        async def send(i: int) -> tuple[ResourceInfo, str]:
            obj = objects[i]
            info = info_of(obj)
            ns = object_namespace(info, obj, opts.namespace_flag, opts.namespace)
            body = annotated(obj) if save_config else obj
            created = await api.create(info.plural, body, ns)
            return info, name_of(created) or name_of(obj)

        def report(_i: int, result: tuple[ResourceInfo, str] | None, err: JetkubeError | None) -> None:
            if err is not None:
                errors.report(err)
            elif result is not None:
                said(*result, "created")

        plan = waves([key_of(o, opts.namespace_flag, opts.namespace) for o in objects])
        await send_all(len(objects), plan, send, report, Progress("created", len(objects)))
        return errors.code

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("create")(create)
