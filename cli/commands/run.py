"""``jetkube run NAME --image=I [--env K=V] [--port P] [--labels a=b] [--restart R] [--command] -- ARGS``
and ``jetkube expose TYPE NAME [--port P] [--target-port T] [--type NodePort] [--name N]``.

As kubectl 1.32: ``run`` creates one Pod (labels ``run=NAME`` unless ``--labels``; the words after
``--`` are the container's ``args``, or its ``command`` with ``--command``) and prints
``pod/NAME created``; ``expose`` makes a Service selecting the pods of a Pod, Service,
ReplicationController, Deployment or ReplicaSet, on ``--port`` or the ports the pods declare, and
prints ``service/NAME exposed``. Both take ``--dry-run=client`` and ``-o``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli import generators
from cli.commands.common import Errors, info_of, name_of, show
from cli.context import FilenameOpt, NamespaceOpt, OutputOpt, ServerOpt, fail, run, settings
from cli.manifests import read_sources
from cli.printers.output import parse_output
from cli.resources import parse_targets
from schemas import registry
from schemas.errors import BadRequest, JetkubeError

DryRunOpt = Annotated[str, typer.Option("--dry-run", help="none|client: print only")]


def check_dry_run(value: str) -> None:
    if value not in ("none", "client"):
        raise BadRequest(f'Invalid dry-run value ({value}). Must be "none" or "client".')


def run_pod(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="NAME [-- COMMAND/ARGS...]")],
    image: Annotated[str, typer.Option("--image", help="The image for the container")] = "",
    env: Annotated[list[str] | None, typer.Option("--env", help="K=V, repeatable")] = None,
    port: Annotated[str, typer.Option("--port", help="The port the container exposes")] = "",
    labels: Annotated[str, typer.Option("--labels", "-l", help="a=b,c=d (default run=NAME)")] = "",
    restart: Annotated[str, typer.Option("--restart", help="Always|OnFailure|Never")] = "Always",
    command: Annotated[bool, typer.Option("--command", help="The words after -- are the command")] = False,
    image_pull_policy: Annotated[str, typer.Option("--image-pull-policy")] = "",
    dry_run: DryRunOpt = "none",
    output: OutputOpt = None,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Create and run a particular image in a pod."""
    opts = settings(ctx, server, namespace)
    try:
        check_dry_run(dry_run)
        spec = parse_output(output)
        name, words = args[0], args[1:]
        pod = generators.pod(
            name,
            image,
            args=words,
            command=command,
            env=env or [],
            port=port,
            labels=labels,
            restart=restart,
            image_pull_policy=image_pull_policy,
        )
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        info = registry.lookup("pods")
        made = pod if dry_run == "client" else await api.create("pods", pod, opts.namespace)
        show(info, name, made, spec, "created", dry_run == "client")
        return 0

    run(opts, work)


def expose(
    ctx: typer.Context,
    args: Annotated[list[str] | None, typer.Argument(help="TYPE NAME | TYPE/NAME (or -f)")] = None,
    filename: FilenameOpt = None,
    port: Annotated[str, typer.Option("--port", help="The port the service serves on")] = "",
    target_port: Annotated[str, typer.Option("--target-port", help="The pods' port (name or number)")] = "",
    protocol: Annotated[str, typer.Option("--protocol", help="TCP|UDP|SCTP")] = "",
    service_type: Annotated[str, typer.Option("--type", help="ClusterIP|NodePort|LoadBalancer")] = "",
    name: Annotated[str, typer.Option("--name", help="The Service's name (default: the object's)")] = "",
    external_ip: Annotated[str, typer.Option("--external-ip")] = "",
    selector: Annotated[str, typer.Option("--selector", help="a=b: instead of the object's")] = "",
    labels: Annotated[str, typer.Option("--labels", "-l", help="a=b: the Service's labels")] = "",
    dry_run: DryRunOpt = "none",
    output: OutputOpt = None,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Take a replication controller, service, deployment or pod and expose it as a new Service."""
    opts = settings(ctx, server, namespace)
    try:
        check_dry_run(dry_run)
        spec = parse_output(output)
        refs: list[tuple[str, str]] = []
        if filename:
            refs = [(info_of(m.obj).plural, name_of(m.obj)) for m in read_sources(filename, verb="expose")]
        else:
            for target in parse_targets(args or [], allow_all=False):
                if not target.names:
                    raise BadRequest("resource(s) were provided, but no name was specified")
                refs.extend((target.info.plural, n) for n in target.names)
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        services = registry.lookup("services")
        for plural, object_name in refs:
            try:
                info = registry.lookup(plural)
                if info.kind not in generators.EXPOSABLE:
                    raise BadRequest(f"cannot expose a {info.kind}")
                obj = await api.get(plural, object_name, opts.namespace)
                svc = generators.expose(
                    obj,
                    name=name,
                    port=port,
                    target_port=target_port,
                    protocol=protocol,
                    type_=service_type,
                    external_ip=external_ip,
                    selector=selector,
                    labels=labels,
                )
                made = svc if dry_run == "client" else await api.create("services", svc, opts.namespace)
                show(services, name_of(svc), made, spec, "exposed", dry_run == "client")
            except JetkubeError as err:
                errors.report(err)
        return errors.code

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("run")(run_pod)
    app.command("expose")(expose)
