"""``jetkube testbed chaos --seed N --duration S``: the fault-injection run on the test bed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def chaos_cmd(
    seed: Annotated[
        int, typer.Option("--seed", help="The nemesis's schedule (the same seed, the same faults).")
    ] = 1,
    duration: Annotated[float, typer.Option("--duration", help="Seconds of workload and faults.")] = 600.0,
    clients: Annotated[int, typer.Option("--clients", help="Concurrent compare-and-set clients.")] = 4,
    counters: Annotated[int, typer.Option("--counters", help="Counters (ConfigMaps) they increment.")] = 3,
    out: Annotated[Path, typer.Option("--out", help="Where the history and the report go.")] = Path(
        "chaos-out"
    ),
) -> None:
    """Faults (kill -9 a NATS server, pause a control plane, partition or restart a node) while
    clients increment counters; then the checker: linearizable, no acknowledged write lost, and the
    time to converge. Exit 1 when the verdict is FAIL. The bed must be up (`jetkube testbed up`)."""
    from cli.chaos.run import run_chaos

    if duration <= 0:
        raise typer.BadParameter("--duration: must be more than 0 seconds")
    if clients < 1 or counters < 1:
        raise typer.BadParameter("--clients and --counters: must be at least 1")
    verdict, report = run_chaos(seed, duration, out, clients=clients, counters=counters)
    typer.echo(report, nl=False)
    from cli.chaos.plot import plot_timeline

    png = plot_timeline(out)
    typer.echo(f"files: {out}/report.txt, history.jsonl, faults.json, replicas.json")
    missing = "not drawn (pip install 'jetkube[plot]' for matplotlib)"
    typer.echo(f"timeline: {png}" if png else f"timeline: {missing}")
    if not verdict.ok:
        raise typer.Exit(1)
