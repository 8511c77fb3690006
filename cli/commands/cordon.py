"""``jetkube cordon NODE`` and ``uncordon NODE``: mark a node (un)schedulable.

``drain`` (cordon, then evict) belongs to the node-lifecycle work and attaches as
``cli/commands/drain.py``; it can reuse :func:`set_unschedulable`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.commands.common import Errors
from cli.context import SelectorOpt, ServerOpt, fail, run, settings
from schemas.errors import BadRequest, JetkubeError

NodesArg = Annotated[list[str] | None, typer.Argument(help="NODE...")]


async def set_unschedulable(api: Any, node: str, value: bool) -> bool:
    """Patch ``spec.unschedulable``; False when it already had that value."""
    obj = await api.get("nodes", node)
    if bool((obj.get("spec") or {}).get("unschedulable")) == value:
        return False
    await api.patch("nodes", node, {"spec": {"unschedulable": value or None}}, "strategic")
    return True


def _run(
    ctx: typer.Context, nodes: list[str] | None, selector: str | None, server: str | None, value: bool
) -> None:
    opts = settings(ctx, server)
    if not nodes and not selector:
        fail(BadRequest("at least one node name (or -l) is required"))
    done, already = ("cordoned", "already cordoned") if value else ("uncordoned", "already uncordoned")

    async def work(api: Any) -> int:
        errors = Errors()
        names = list(nodes or [])
        if selector:
            names += [
                n["metadata"]["name"] for n in (await api.list("nodes", label_selector=selector))["items"]
            ]
        for node in names:
            try:
                changed = await set_unschedulable(api, node, value)
                typer.echo(f"node/{node} {done if changed else already}")
            except JetkubeError as err:
                errors.report(err)
        return errors.code

    run(opts, work)


def cordon(
    ctx: typer.Context, nodes: NodesArg = None, selector: SelectorOpt = None, server: ServerOpt = None
) -> None:
    """Mark node(s) as unschedulable."""
    _run(ctx, nodes, selector, server, True)


def uncordon(
    ctx: typer.Context, nodes: NodesArg = None, selector: SelectorOpt = None, server: ServerOpt = None
) -> None:
    """Mark node(s) as schedulable."""
    _run(ctx, nodes, selector, server, False)


def register(app: typer.Typer) -> None:
    app.command("cordon")(cordon)
    app.command("uncordon")(uncordon)
