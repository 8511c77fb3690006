"""``jetkube scale TYPE NAME --replicas N [--current-replicas M]``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.commands.common import Errors, said
from cli.context import NamespaceOpt, SelectorOpt, ServerOpt, fail, run, settings
from cli.resources import parse_targets
from schemas.errors import BadRequest, Conflict, JetkubeError

SCALABLE = ("deployments", "replicasets", "replicationcontrollers", "statefulsets", "jobs")


def scale(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="TYPE NAME | TYPE/NAME")],
    replicas: Annotated[int, typer.Option("--replicas", help="The new desired number of replicas")],
    current_replicas: Annotated[
        int, typer.Option("--current-replicas", help="Precondition: current size")
    ] = -1,
    selector: SelectorOpt = None,
    all_: Annotated[bool, typer.Option("--all")] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Set a new size for a Deployment, ReplicaSet, ReplicationController, StatefulSet or Job."""
    opts = settings(ctx, server, namespace)
    try:
        if replicas < 0:
            raise BadRequest(
                "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
            )
        targets = parse_targets(args, allow_all=False)
        for t in targets:
            if t.info.plural not in SCALABLE:
                raise BadRequest(f"cannot scale {t.info.plural}: only {', '.join(SCALABLE)} scale")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        for target in targets:
            info, ns = target.info, opts.namespace
            names = list(target.names)
            if not names:
                listing = await api.list(info.plural, ns, label_selector=selector)
                names = [o["metadata"]["name"] for o in listing["items"]] if (all_ or selector) else []
            for name in names:
                try:
                    obj = await api.get(info.plural, name, ns)
                    field = "parallelism" if info.plural == "jobs" else "replicas"
                    current = (obj.get("spec") or {}).get(field, 1)
                    if current_replicas >= 0 and current != current_replicas:
                        raise Conflict(f"Expected replicas to be {current_replicas}, was {current}")
                    body = {
                        "metadata": {"resourceVersion": obj["metadata"].get("resourceVersion")},
                        "spec": {field: replicas},
                    }
                    await api.patch(info.plural, name, body, "merge", ns)
                    said(info, name, "scaled")
                except JetkubeError as err:
                    errors.report(err)
        return errors.code

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("scale")(scale)
