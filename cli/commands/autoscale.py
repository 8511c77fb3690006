"""``jetkube autoscale (-f FILE | TYPE NAME | TYPE/NAME) --max N [--min N] [--cpu-percent P]``.

As kubectl 1.32: looks the target up (a Deployment, ReplicaSet, ReplicationController or, where
served, StatefulSet: kinds with a scale subresource), then creates an autoscaling/v1
HorizontalPodAutoscaler named after it (``--name`` to choose) and prints
``horizontalpodautoscaler.autoscaling/NAME autoscaled``. Without ``--cpu-percent`` the api's
default applies (CPU at 80%). ``--dry-run=client`` only prints the object (``-o yaml|json|name``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from actors.autoscaler.scaletarget import SCALABLE_KINDS
from cli.commands.common import Errors, info_of, name_of
from cli.context import FilenameOpt, NamespaceOpt, OutputOpt, RecursiveOpt, ServerOpt, fail, run, settings
from cli.manifests import read_sources
from cli.printers.output import object_name, parse_output, render_data
from cli.resources import parse_targets
from schemas import registry
from schemas.errors import BadRequest, JetkubeError

HPA = registry.lookup("horizontalpodautoscalers")


def check_bounds(low: int, high: int) -> None:
    if high < 1:
        raise BadRequest(f"--max=MAXPODS is required and must be at least 1, max: {high}")
    if high < low:
        raise BadRequest(f"--max=MAXPODS must be larger or equal to --min=MINPODS, max: {high}, min: {low}")


def autoscaler(target: dict[str, Any], name: str, low: int, high: int, cpu_percent: int) -> dict[str, Any]:
    """The autoscaling/v1 object kubectl 1.32 sends for ``target``."""
    spec: dict[str, Any] = {
        "scaleTargetRef": {
            "apiVersion": target.get("apiVersion"),
            "kind": target.get("kind"),
            "name": name_of(target),
        },
        "maxReplicas": high,
    }
    if low >= 0:
        spec["minReplicas"] = low
    if cpu_percent >= 0:
        spec["targetCPUUtilizationPercentage"] = cpu_percent
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": spec,
    }


def autoscale(
    ctx: typer.Context,
    args: Annotated[list[str] | None, typer.Argument(help="TYPE NAME | TYPE/NAME (or use -f)")] = None,
    filename: FilenameOpt = None,
    recursive: RecursiveOpt = False,
    high: Annotated[
        int, typer.Option("--max", help="The upper limit for the number of pods (required)")
    ] = -1,
    low: Annotated[
        int, typer.Option("--min", help="The lower limit; the server's default if not given")
    ] = -1,
    cpu_percent: Annotated[
        int, typer.Option("--cpu-percent", help="Target average CPU utilization (% of request)")
    ] = -1,
    name: Annotated[str, typer.Option("--name", help="Name of the autoscaler (default: the target's)")] = "",
    dry_run: Annotated[str, typer.Option("--dry-run", help="none|client")] = "none",
    output: OutputOpt = None,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Auto-scale a Deployment, ReplicaSet, StatefulSet, or ReplicationController."""
    opts = settings(ctx, server, namespace)
    try:
        check_bounds(low, high)
        if dry_run not in ("none", "client"):
            raise BadRequest(
                f'Invalid dry-run value ({dry_run}). Must be "none" or "client" (no server dry run).'
            )
        spec = parse_output(output)
        refs: list[tuple[str, str]] = []  # (plural, name)
        if filename:
            for manifest in read_sources(filename, recursive, verb="autoscale"):
                refs.append((info_of(manifest.obj).plural, name_of(manifest.obj)))
        else:
            for target in parse_targets(args or [], allow_all=False):
                if not target.names:
                    raise BadRequest("resource(s) were provided, but no name was specified")
                refs.extend((target.info.plural, n) for n in target.names)
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        for plural, target_name in refs:
            try:
                info = registry.lookup(plural)
                if info.kind not in SCALABLE_KINDS:
                    raise BadRequest(
                        f"cannot autoscale a {info.kind}: could not find scale subresource for {info.plural}"
                    )
                target = await api.get(plural, target_name, opts.namespace)
                body = autoscaler(target, name or target_name, low, high, cpu_percent)
                if dry_run == "none":
                    await api.create(HPA.plural, body, opts.namespace)
                if spec.format == "name":
                    typer.echo(object_name(HPA, body))
                elif spec.format not in ("table", "wide"):
                    typer.echo(render_data(spec, [body], single=True), nl=False)
                else:
                    suffix = (
                        " (dry run)"
                        if dry_run == "client"
                        else " (server dry run)"
                        if dry_run == "server"
                        else ""
                    )
                    typer.echo(f"{object_name(HPA, body)} autoscaled{suffix}")
            except JetkubeError as err:
                errors.report(err)
        return errors.code

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("autoscale")(autoscale)
