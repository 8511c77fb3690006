"""``jetkube cluster-info`` and ``jetkube get componentstatuses`` (``cs``): who runs, who leads.

Both read the health agents (actors/health): one request on ``jetkube.health`` gathers every
live process's report, the ``jetkube-health`` bucket gives each one's last heartbeat (so a
process that stopped answering still shows, Unhealthy), and the leases in the state bucket say
which process leads the scheduler and each controller. ``componentstatuses`` is served here, in
the client, not by the api: it is a view of processes, not an object anyone stores.
"""

from __future__ import annotations

from typing import Any

import typer

from cli.context import ServerOpt, fail, run, settings
from cli.printers.output import to_json, to_yaml
from cli.printers.table import render
from schemas.errors import BadRequest

CS_NAMES = ("componentstatuses", "componentstatus", "cs")


def leader_column(leader_of: tuple[str, ...]) -> str:
    """The leases a process leads: their names when one or two, else how many (``-o yaml`` lists them)."""
    if not leader_of:
        return "<none>"
    return ",".join(leader_of) if len(leader_of) <= 2 else f"{len(leader_of)} leases"


def status_rows(rows: list[Any], now: float, wide: bool = False) -> list[list[str]]:
    header = ["NAME", "STATUS", "MESSAGE", "ERROR", "LEADER OF", "LAST HEARTBEAT"]
    if wide:
        header += ["ROLE", "BUILD"]
    out = [header]
    for r in rows:
        line = [
            r.name,
            "Healthy" if r.healthy else "Unhealthy",
            r.message,
            r.error,
            leader_column(r.leader_of),
            r.age(now),
        ]
        if wide:
            line += [r.role, r.build]
        out.append(line)
    return out


def component_statuses(
    ctx: typer.Context | None, names: list[str], output: str | None, server: str | None
) -> None:
    """``jetkube get cs [NAME...] [-o wide|yaml|json|name]``: one row per process."""
    opts = settings(ctx, server)
    if output not in (None, "", "wide", "yaml", "json", "name"):
        fail(
            BadRequest(
                f'--output: "{output}" is not supported for componentstatuses: use wide, yaml, json, name'
            )
        )

    async def work(api: Any) -> int:
        from actors.health.query import cluster_health
        from actors.health.report import as_kubernetes

        health = await cluster_health(api.bus)
        rows = [r for r in health.rows if not names or r.name in names]
        missing = [n for n in names if n not in {r.name for r in rows}]
        if output in ("yaml", "json"):
            data = as_kubernetes(rows, health.now)
            if len(names) == 1 and rows:
                data = data["items"][0]
            typer.echo((to_yaml(data) if output == "yaml" else to_json(data)).rstrip("\n"))
        elif output == "name":
            for r in rows:
                typer.echo(f"componentstatus/{r.name}")
        elif rows:
            for line in render(status_rows(rows, health.now, wide=output == "wide")):
                typer.echo(line)
        elif not names:
            typer.echo("No resources found", err=True)
        for name in missing:
            typer.echo(f'Error from server (NotFound): componentstatuses "{name}" not found', err=True)
        return 1 if missing else 0

    run(opts, work)


def cluster_info(ctx: typer.Context, server: ServerOpt = None) -> None:
    """Display the addresses of the control plane and the state of every jetkube process."""
    opts = settings(ctx, server)

    async def work(api: Any) -> int:
        from actors.health.query import cluster_health

        health = await cluster_health(api.bus)
        live_cp = [r for r in health.rows if "controlplane" in r.role and r.healthy]
        state = "running" if live_cp else "NOT answering"
        typer.echo(f"Kubernetes control plane is {state} at {opts.server}")
        typer.echo(f"  state store: JetStream KV bucket jetkube (stream KV_jetkube){await _store_line(api)}")
        for lease, holder in sorted(health.leaders.items()):
            typer.echo(f"  {lease} is led by {holder}")
        typer.echo("")
        rows = [["PROCESS", "ROLE", "BUILD", "STATUS", "LEADER OF", "TASKS", "LAST HEARTBEAT"]]
        for r in health.rows:
            rows.append(
                [
                    r.name,
                    r.role,
                    r.build,
                    "Healthy" if r.healthy else "Unhealthy",
                    leader_column(r.leader_of),
                    r.message,
                    r.age(health.now),
                ]
            )
        for line in render(rows):
            typer.echo(line)
        typer.echo("")
        typer.echo("To see every process's tasks, use 'jetkube get componentstatuses -o yaml'.")
        return 0 if live_cp else 1

    run(opts, work)


async def _store_line(api: Any) -> str:
    try:
        info = await api.bus.js.stream_info("KV_jetkube")
    except Exception:
        return ": NOT reachable"
    cluster = getattr(info, "cluster", None)
    leader = getattr(cluster, "leader", None) if cluster else None
    replicas = getattr(info.config, "num_replicas", None) or 1
    where = f", leader {leader}" if leader else ""
    return f": {replicas} replica(s){where}, revision {info.state.last_seq}"


def register(app: typer.Typer) -> None:
    app.command("cluster-info")(cluster_info)
