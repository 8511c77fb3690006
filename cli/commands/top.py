"""``jetkube top nodes|pods``: CPU and memory from the kubelets' last samples, as kubectl prints them.

    jetkube top nodes [NAME] [-l SELECTOR] [--sort-by cpu|memory] [--no-headers]
    jetkube top pods [NAME] [-n NS | -A] [-l SELECTOR] [--containers] [--sort-by cpu|memory]

The figures come from actors/metrics/top.py's :func:`collect_top` (the dashboard uses it too):
each Ready node's kubelet answers on ``jetkube.node.<node>.stats`` from a sample at most one
``--stats-interval`` old. Nodes that have not sampled yet show ``<unknown>``; with no sample at
all the command fails with kubectl's "metrics not available yet".
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
        if containers:
            rows = [[*lead, "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]]
            for p in found:
                for c in p.containers:
                    first = [p.namespace] if all_namespaces else []
                    rows.append(
                        [*first, p.name, c.name, format_cpu(c.cpu_nanocores), format_memory(c.memory_bytes)]
                    )
        else:
            rows = [[*lead, "NAME", "CPU(cores)", "MEMORY(bytes)"]]
            for p in found:
                first = [p.namespace] if all_namespaces else []
                rows.append([*first, p.name, format_cpu(p.cpu_nanocores), format_memory(p.memory_bytes)])
        _print(rows, no_headers)
        return 0

    run(opts, work)


for _name, _hidden in (("nodes", False), ("node", True), ("no", True)):
    top_app.command(_name, hidden=_hidden)(top_nodes)
for _name, _hidden in (("pods", False), ("pod", True), ("po", True)):
    top_app.command(_name, hidden=_hidden)(top_pods)


def register(app: typer.Typer) -> None:
    app.add_typer(top_app, name="top")
