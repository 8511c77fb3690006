"""``jetkube top nodes|pods``: CPU and memory from the kubelets' last samples, as kubectl prints them.

    jetkube top nodes [NAME] [-l SELECTOR] [--sort-by cpu|memory] [--no-headers]
    jetkube top pods [NAME] [-n NS | -A] [-l SELECTOR] [--containers] [--sort-by cpu|memory]

The figures come from actors/metrics/top.py's :func:`collect_top` (the dashboard uses it too):
each Ready node's kubelet answers on ``jetkube.node.<node>.stats`` from a sample at most one
``--stats-interval`` old. Nodes that have not sampled yet show ``<unknown>``; with no sample at
all the command fails with kubectl's "metrics not available yet".

``--history`` (jetkube's own) adds CPU(1h) and MEMORY(1h): each row's last hour as a text
sparkline of 20 buckets (actors/metrics/history.py), asked of the process that keeps the history
(``jetkube up``) on ``jetkube.metrics.history``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.context import AllNamespacesOpt, NamespaceOpt, SelectorOpt, ServerOpt, run, settings
from schemas.errors import BadRequest, NotFound, ServiceUnavailable

top_app = typer.Typer(
    name="top",
    help="Display resource (CPU/memory) usage of nodes or pods.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

SortOpt = Annotated[str | None, typer.Option("--sort-by", help="Sort by cpu or memory")]
NoHeadersOpt = Annotated[bool, typer.Option("--no-headers", help="Do not print the header line")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the kubelets")]
HistoryOpt = Annotated[
    bool,
    typer.Option(
        "--history",
        help="Add CPU and memory over the last hour (the metrics history of `jetkube up`), as sparklines",
    ),
]
SPARK_WIDTH = 20


async def history_columns(api: Any, kind: str, namespace: str | None) -> dict[str, list[str]]:
    """Series key -> [CPU sparkline, memory sparkline] over the history's window, from the process
    that keeps the history (``jetkube.metrics.history``)."""
    import time

    from actors.metrics.collector import HISTORY_SUBJECT
    from actors.metrics.history import Point, spark_text
    from bus.rpc import request

    try:
        reply = await request(
            api.bus, HISTORY_SUBJECT, {"kinds": [kind], "namespace": namespace}, timeout=5.0, retry=True
        )
    except ServiceUnavailable:
        raise ServiceUnavailable(
            "no metrics history answers on jetkube.metrics.history: `jetkube up` keeps one"
            " (the test bed's separate processes do not)"
        ) from None
    end = float(reply.get("now") or time.time())
    start = end - float(reply.get("window") or 3600)
    out = {}
    for series in reply.get("series") or []:
        points = [Point(*p) for p in series["points"]]
        out[series["key"]] = [spark_text(points, i, start=start, end=end, width=SPARK_WIDTH) for i in (1, 2)]
    return out


def _with_history(rows: list[list[str]], keys: list[str], charts: dict[str, list[str]]) -> list[list[str]]:
    blank = ["<none>", "<none>"]
    return [rows[0] + ["CPU(1h)", "MEMORY(1h)"]] + [
        r + charts.get(k, blank) for r, k in zip(rows[1:], keys, strict=True)
    ]


def not_available() -> ServiceUnavailable:
    return ServiceUnavailable("metrics not available yet")


def _check_sort(sort_by: str | None) -> None:
    if sort_by not in (None, "cpu", "memory"):
        raise BadRequest(f"--sort-by accepts only cpu or memory, got {sort_by!r}")


def _print(rows: list[list[str]], no_headers: bool) -> None:
    from cli.printers.table import render

    for line in render(rows[1:] if no_headers else rows):
        typer.echo(line)


def top_nodes(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="One node")] = None,
    selector: SelectorOpt = None,
    sort_by: SortOpt = None,
    no_headers: NoHeadersOpt = False,
    timeout: TimeoutOpt = 5.0,
    history: HistoryOpt = False,
    server: ServerOpt = None,
) -> None:
    """Display the CPU and memory of nodes."""
    opts = settings(ctx, server)

    async def work(api: Any) -> int:
        from actors.metrics.top import collect_top

        _check_sort(sort_by)
        data = await collect_top(api, api.bus, timeout=timeout)
        nodes = data.nodes
        if name is not None:
            nodes = [n for n in nodes if n.name == name]
            if not nodes:
                err = NotFound(f'nodes "{name}" not found')
                err.from_server = True
                raise err
        if selector:
            listing = await api.list("nodes", label_selector=selector)
            keep = {n["metadata"]["name"] for n in listing.get("items") or []}
            nodes = [n for n in nodes if n.name in keep]
        if not [n for n in nodes if n.cpu_nanocores is not None]:
            raise not_available()
        if sort_by == "cpu":
            nodes.sort(key=lambda n: -(n.cpu_nanocores or 0))
        elif sort_by == "memory":
            nodes.sort(key=lambda n: -(n.memory_bytes or 0))
        rows = [["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]] + [n.row() for n in nodes]
        if history:
            rows = _with_history(rows, [n.name for n in nodes], await history_columns(api, "node", None))
        _print(rows, no_headers)
        return 0

    run(opts, work)


def top_pods(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="One pod")] = None,
    all_namespaces: AllNamespacesOpt = False,
    selector: SelectorOpt = None,
    containers: Annotated[bool, typer.Option("--containers", help="One line per container")] = False,
    sort_by: SortOpt = None,
    no_headers: NoHeadersOpt = False,
    timeout: TimeoutOpt = 5.0,
    history: HistoryOpt = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Display the CPU and memory of pods (and with --containers, of their containers)."""
    opts = settings(ctx, server, namespace)

    async def work(api: Any) -> int:
        from actors.metrics.top import collect_top, format_cpu, format_memory

        _check_sort(sort_by)
        ns = None if all_namespaces else opts.namespace
        if name is not None:
            pods = [await api.get("pods", name, ns or opts.namespace)]
        else:
            pods = (await api.list("pods", ns, label_selector=selector)).get("items") or []
        if not pods:
            where = "" if all_namespaces else f" in {opts.namespace} namespace"
            typer.echo(f"No resources found{where}.", err=True)
            return 0
        wanted = {(p["metadata"].get("namespace"), p["metadata"]["name"]) for p in pods}
        nodes = sorted({str(p["spec"]["nodeName"]) for p in pods if (p.get("spec") or {}).get("nodeName")})
        data = await collect_top(api, api.bus, nodes=nodes, timeout=timeout) if nodes else None
        found = [p for p in (data.pods if data else []) if (p.namespace, p.name) in wanted]
        if not found:
            raise not_available()
        if sort_by == "cpu":
            found.sort(key=lambda p: -p.cpu_nanocores)
        elif sort_by == "memory":
            found.sort(key=lambda p: -p.memory_bytes)
        elif all_namespaces:
            found.sort(key=lambda p: (p.namespace, p.name))
        else:
            found.sort(key=lambda p: p.name)
        lead = ["NAMESPACE"] if all_namespaces else []
        keys: list[str] = []
        if containers:
            rows = [[*lead, "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]]
            for p in found:
                for c in p.containers:
                    keys.append(f"{p.namespace}/{p.name}/{c.name}")
                    first = [p.namespace] if all_namespaces else []
                    rows.append(
                        [*first, p.name, c.name, format_cpu(c.cpu_nanocores), format_memory(c.memory_bytes)]
                    )
        else:
            rows = [[*lead, "NAME", "CPU(cores)", "MEMORY(bytes)"]]
            for p in found:
                keys.append(f"{p.namespace}/{p.name}")
                first = [p.namespace] if all_namespaces else []
                rows.append([*first, p.name, format_cpu(p.cpu_nanocores), format_memory(p.memory_bytes)])
        if history:
            kind = "container" if containers else "pod"
            rows = _with_history(rows, keys, await history_columns(api, kind, ns))
        _print(rows, no_headers)
        return 0

    run(opts, work)


for _name, _hidden in (("nodes", False), ("node", True), ("no", True)):
    top_app.command(_name, hidden=_hidden)(top_nodes)
for _name, _hidden in (("pods", False), ("pod", True), ("po", True)):
    top_app.command(_name, hidden=_hidden)(top_pods)


def register(app: typer.Typer) -> None:
    app.add_typer(top_app, name="top")
