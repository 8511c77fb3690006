"""``jetkube get TYPE[,TYPE] [NAME...]``: kubectl's tables and ``-o`` formats, and ``-w``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.commands.cluster_info import CS_NAMES, component_statuses
from cli.context import AllNamespacesOpt, NamespaceOpt, OutputOpt, SelectorOpt, ServerOpt, fail, run, settings
from cli.printers.age import now_utc
from cli.printers.output import (
    Group,
    OutputSpec,
    TableOptions,
    custom_columns,
    object_name,
    parse_output,
    render_data,
    render_tables,
    table_rows,
    to_json,
    to_yaml,
)
from cli.printers.table import format_row, widths
from cli.resources import Target, load_custom_kinds, parse_targets
from schemas.errors import BadRequest, JetkubeError, NotFound


def get(
    ctx: typer.Context,
    args: Annotated[
        list[str] | None, typer.Argument(help="TYPE[,TYPE] [NAME...] | TYPE/NAME... | all")
    ] = None,
    output: OutputOpt = None,
    selector: SelectorOpt = None,
    field_selector: Annotated[
        str | None, typer.Option("--field-selector", help="e.g. status.phase=Running")
    ] = None,
    all_namespaces: AllNamespacesOpt = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="After listing, watch for changes")] = False,
    watch_only: Annotated[
        bool, typer.Option("--watch-only", help="Watch for changes, without listing first")
    ] = False,
    show_labels: Annotated[
        bool, typer.Option("--show-labels", help="Show all labels as the last column")
    ] = False,
    label_columns: Annotated[
        list[str] | None, typer.Option("--label-columns", "-L", help="Labels as columns")
    ] = None,
    no_headers: Annotated[bool, typer.Option("--no-headers", help="No header row")] = False,
    show_kind: Annotated[bool, typer.Option("--show-kind", help="Prefix names with their kind")] = False,
    ignore_not_found: Annotated[bool, typer.Option("--ignore-not-found")] = False,
    show_managed_fields: Annotated[
        bool,
        typer.Option("--show-managed-fields", help="Keep metadata.managedFields in json and yaml output"),
    ] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Display one or many resources."""
    opts = settings(ctx, server, namespace)
    if args and args[0].lower() in CS_NAMES:  # a view of processes, served by the client
        return component_statuses(ctx, list(args[1:]), output, server)
    try:
        spec = parse_output(output)
        try:
            targets = parse_targets(args or [])
        except BadRequest:
            if not args:
                raise
            run(opts, load_custom_kinds)  # perhaps a CRD's kind: learn them, then try again
            targets = parse_targets(args or [])
        if (watch or watch_only) and len(targets) != 1:
            raise BadRequest("you may only specify a single resource type")
    except JetkubeError as err:
        fail(err)
    table = TableOptions(
        wide=spec.format == "wide",
        with_namespace=all_namespaces,
        with_kind=show_kind or len(targets) > 1,
        show_labels=show_labels,
        label_columns=tuple(k for c in (label_columns or []) for k in c.split(",") if k),
        no_headers=no_headers,
    )

    async def work(api: Any) -> int:
        code = 0
        groups: list[Group] = []
        revision = None
        # --watch-only reads too, as kubectl does: for the revision its watch starts after
        for target in targets:
            ns = scope(target, opts.namespace, all_namespaces)
            group = Group(target.info)
            if target.names:
                for name in target.names:
                    try:
                        obj = await api.get(target.info.plural, name, ns)
                    except NotFound as err:
                        if not ignore_not_found and not watch_only:
                            typer.echo(err.cli_line(), err=True)
                            code = 1
                        continue
                    group.items.append(obj)
                    revision = (obj.get("metadata") or {}).get("resourceVersion")
            else:
                listing = await api.list(
                    target.info.plural, ns, label_selector=selector, field_selector=field_selector
                )
                revision = (listing.get("metadata") or {}).get("resourceVersion")
                group.items = sort_items(listing.get("items") or [])
            groups.append(group)
        if watch_only:
            groups = []
        if not show_managed_fields:
            for group in groups:
                group.items = [hide_managed_fields(o) for o in group.items]
        objects = [o for g in groups for o in g.items]
        implied_single = sum(len(t.names) for t in targets) == 1
        single = implied_single and len(objects) == 1
        col_widths: list[int] = []
        if watch and not tabular(spec):  # kubectl -w prints each object alone, never a List
            for group in groups:
                for obj in group.items:
                    print_event(Target(group.info), obj, spec, table, col_widths)
        elif objects or not (ignore_not_found or implied_single or watch_only):
            col_widths = print_groups(groups, spec, table, single)
        if tabular(spec) and not objects and code == 0 and not ignore_not_found and not watch_only:
            typer.echo(no_resources_message(all_namespaces, opts.namespace), err=True)
        if watch or watch_only:
            await follow(
                api,
                targets[0],
                opts.namespace,
                all_namespaces,
                selector,
                field_selector,
                revision,
                spec,
                table,
                col_widths,
                show_managed_fields,
            )
        return code

    run(opts, work)


def hide_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without ``metadata.managedFields``, as kubectl prints objects by default."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


def scope(target: Target, namespace: str, all_namespaces: bool) -> str | None:
    if not target.info.namespaced or all_namespaces:
        return None
    return namespace


def sort_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(obj: dict[str, Any]) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    return sorted(items, key=key)


def tabular(spec: OutputSpec) -> bool:
    """kubectl's human-readable printers: only these say "No resources found" (on stderr)."""
    return spec.format in ("table", "wide")


def no_resources_message(all_namespaces: bool, namespace: str) -> str:
    """kubectl 1.32's words: it names the namespace even for cluster-scoped kinds (``get nodes``)."""
    if all_namespaces:
        return "No resources found"
    return f"No resources found in {namespace} namespace."


def print_groups(groups: list[Group], spec: OutputSpec, table: TableOptions, single: bool) -> list[int]:
    """Print what ``get`` found; returns the table's column widths (for ``-w`` rows after it).

    As kubectl: an empty result prints nothing in a table (the caller says "No resources found"),
    nothing for ``-o name``, an empty ``List`` for json, yaml, jsonpath and go-template, and the
    header for custom-columns.
    """
    objects = [o for g in groups for o in g.items]
    now = now_utc()
    if spec.format in ("table", "wide"):
        lines = render_tables(groups, table, now)
        for line in lines:
            typer.echo(line)
        if len(groups) == 1:
            return widths(table_rows(groups[0].info, groups[0].items, table, now))
        return []
    if spec.format == "name":
        for group in groups:
            for obj in group.items:
                typer.echo(object_name(group.info, obj))
    elif spec.format == "custom-columns":
        for line in custom_columns(spec.arg, objects, table.no_headers):
            typer.echo(line)
    else:
        typer.echo(render_data(spec, objects, single), nl=False)
    return []


async def follow(
    api: Any,
    target: Target,
    namespace: str,
    all_namespaces: bool,
    selector: str | None,
    field_selector: str | None,
    revision: str | None,
    spec: OutputSpec,
    table: TableOptions,
    col_widths: list[int],
    show_managed_fields: bool = False,
) -> None:
    """``-w``: one line (or document) per change, until interrupted."""
    ns = scope(target, namespace, all_namespaces)
    fields = field_selector
    if target.names:
        by_name = f"metadata.name={target.names[0]}"
        fields = f"{fields},{by_name}" if fields else by_name
    async for event in api.watch(
        target.info.plural, ns, label_selector=selector, field_selector=fields, resource_version=revision
    ):
        kind = getattr(event, "type", None) or event.get("type")
        obj = getattr(event, "object", None) if not isinstance(event, dict) else event.get("object")
        if kind == "BOOKMARK":
            continue
        obj = obj or {}
        print_event(target, obj if show_managed_fields else hide_managed_fields(obj), spec, table, col_widths)


def print_event(
    target: Target, obj: dict[str, Any], spec: OutputSpec, table: TableOptions, col_widths: list[int]
) -> None:
    now = now_utc()
    if spec.format in ("table", "wide"):
        rows = table_rows(target.info, [obj], TableOptions(**{**table.__dict__, "no_headers": True}), now)
        if not col_widths:
            header = table_rows(target.info, [obj], table, now)
            col_widths[:] = widths(header)
            if not table.no_headers:
                typer.echo(format_row(header[0], col_widths))
        typer.echo(format_row(rows[0], col_widths))
    elif spec.format == "name":
        typer.echo(object_name(target.info, obj))
    elif spec.format == "yaml":
        typer.echo("---\n" + to_yaml(obj), nl=False)
    elif spec.format == "json":
        typer.echo(to_json(obj))
    elif spec.format == "custom-columns":
        typer.echo(custom_columns(spec.arg, [obj], no_headers=True)[0])
    else:
        typer.echo(render_data(spec, [obj], single=True), nl=False)


def register(app: typer.Typer) -> None:
    app.command("get")(get)
