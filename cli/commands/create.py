"""``jetkube create -f FILE`` and the generators: ``create deployment|job|configmap|secret generic|
service clusterip|nodeport|loadbalancer|namespace NAME ...`` (cli/commands/generate.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.apply import annotated
from cli.bulk import Progress, send_all, waves
from cli.commands.common import Errors, info_of, key_of, name_of, show
from cli.commands.generate import GeneratorFlags, generate
from cli.context import FilenameOpt, NamespaceOpt, OutputOpt, RecursiveOpt, ServerOpt, fail, run, settings
from cli.manifests import read_sources
from cli.printers.output import parse_output
from cli.resources import object_namespace
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
    image: Annotated[list[str] | None, typer.Option("--image", help="deployment, job: the image(s)")] = None,
    replicas: Annotated[int, typer.Option("--replicas", "-r", help="deployment: replicas")] = 1,
    port: Annotated[int, typer.Option("--port", help="deployment: the container port")] = -1,
    from_literal: Annotated[list[str] | None, typer.Option("--from-literal", help="key=value")] = None,
    from_file: Annotated[list[str] | None, typer.Option("--from-file", help="[key=]path")] = None,
    from_env_file: Annotated[
        str | None, typer.Option("--from-env-file", help="a file of key=value lines")
    ] = None,
    secret_type: Annotated[str, typer.Option("--type", help="secret generic: the Secret's type")] = "",
    tcp: Annotated[list[str] | None, typer.Option("--tcp", help="service: PORT[:TARGET]")] = None,
    node_port: Annotated[int, typer.Option("--node-port", help="service nodeport: the node port")] = 0,
    cluster_ip: Annotated[str, typer.Option("--clusterip", help="service clusterip: an IP or None")] = "",
    dry_run: Annotated[str, typer.Option("--dry-run", help="none|client: print only")] = "none",
    output: OutputOpt = None,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Create a resource from a file or from stdin, or with a generator:
    deployment|job|configmap|secret generic|service clusterip|nodeport|loadbalancer|namespace NAME."""
    opts = settings(ctx, server, namespace)
    objects: list[dict[str, Any]]
    try:
        spec = parse_output(output)
        if dry_run not in ("none", "client"):
            raise BadRequest(f'Invalid dry-run value ({dry_run}). Must be "none" or "client".')
        if filename:
            objects = [m.obj for m in read_sources(filename, recursive, verb="create")]
        elif args:
            flags = GeneratorFlags(
                image or [],
                replicas,
                port,
                from_literal or [],
                from_file or [],
                from_env_file,
                secret_type,
                tcp or [],
                node_port,
                cluster_ip,
            )
            objects = [generate(list(args), flags)]
        else:
            raise BadRequest("must specify one of -f and -k")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()

        async def send(i: int) -> tuple[ResourceInfo, str]:
            obj = objects[i]
            info = info_of(obj)
            ns = object_namespace(info, obj, opts.namespace_flag, opts.namespace)
            body = annotated(obj) if save_config else obj
            if dry_run == "client":
                return info, name_of(obj)
            created = await api.create(info.plural, body, ns)
            objects[i] = created
            return info, name_of(created) or name_of(obj)

        def report(_i: int, result: tuple[ResourceInfo, str] | None, err: JetkubeError | None) -> None:
            if err is not None:
                errors.report(err)
            elif result is not None:
                show(result[0], result[1], objects[_i], spec, "created", dry_run == "client")

        plan = waves([key_of(o, opts.namespace_flag, opts.namespace) for o in objects])
        await send_all(len(objects), plan, send, report, Progress("created", len(objects)))
        return errors.code

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("create")(create)
