"""``-o`` formats: parse the flag, then turn groups of objects into the text kubectl prints."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import yaml

from cli import gotemplate, jsonpath
from cli.printers.columns import columns_for, format_labels
from cli.printers.table import render
from schemas.errors import BadRequest
from schemas.printing.storage import is_default_class

FORMATS = (
    "custom-columns",
    "go-template",
    "json",
    "jsonpath",
    "name",
    "wide",
    "yaml",
)


class KindInfo(Protocol):
    plural: str
    kind: str
    group: str


@dataclass(frozen=True)
class OutputSpec:
    format: str  # "table" when no -o
    arg: str = ""


def parse_output(value: str | None) -> OutputSpec:
    """``-o yaml``, ``-o jsonpath='{...}'``, ``-o go-template=...``, ``-o custom-columns=...``."""
    if not value:
        return OutputSpec("table")
    name, _, arg = value.partition("=")
    if name in ("jsonpath", "go-template", "custom-columns", "template"):
        if not arg:
            raise BadRequest(f"{name} template format specified but no template given")
        return OutputSpec("go-template" if name == "template" else name, arg)
    if name in ("yaml", "json", "wide", "name") and not arg:
        return OutputSpec(name)
    raise BadRequest(
        f'unable to match a printer suitable for the output format "{value}", '
        f"allowed formats are: {','.join(FORMATS)}"
    )


@dataclass
class Group:
    """The objects of one resource type, in the order they print."""

    info: KindInfo
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TableOptions:
    wide: bool = False
    with_namespace: bool = False
    with_kind: bool = False
    show_labels: bool = False
    label_columns: tuple[str, ...] = ()
    no_headers: bool = False


def qualified_kind(info: KindInfo) -> str:
    """``pod``, ``deployment.apps``, ``job.batch``: how kubectl names a kind in its output."""
    group = getattr(info, "group", "") or ""
    return info.kind.lower() + (f".{group}" if group else "")


def object_name(info: KindInfo, obj: dict[str, Any]) -> str:
    return f"{qualified_kind(info)}/{(obj.get('metadata') or {}).get('name', '')}"


def table_rows(
    info: KindInfo, items: Sequence[dict[str, Any]], opts: TableOptions, now: datetime
) -> list[list[str]]:
    """Header and rows of one kind's table."""
    cols = columns_for(info.plural, opts.wide)
    header = ["NAME", *(c.header for c in cols)]
    if info.plural == "events":
        header = [c.header for c in cols]  # events lead with LAST SEEN and have no NAME
    if opts.with_namespace:
        header.insert(0, "NAMESPACE")
    header += [key.rsplit("/", 1)[-1].upper() for key in opts.label_columns]
    if opts.show_labels:
        header.append("LABELS")
    rows = [] if opts.no_headers else [header]
    for obj in items:
        meta = obj.get("metadata") or {}
        name = object_name(info, obj) if opts.with_kind else str(meta.get("name", ""))
        if info.plural == "storageclasses" and is_default_class(obj):
            name += " (default)"
        row = [c.cell(obj, now) for c in cols]
        if info.plural != "events":
            row.insert(0, name)
        if opts.with_namespace:
            row.insert(0, str(meta.get("namespace", "")))
        labels = meta.get("labels") or {}
        row += [str(labels.get(key, "")) for key in opts.label_columns]
        if opts.show_labels:
            row.append(format_labels(labels))
        rows.append(row)
    return rows


def render_tables(groups: Sequence[Group], opts: TableOptions, now: datetime) -> list[str]:
    """kubectl's tables, one per kind, separated by a blank line."""
    lines: list[str] = []
    for group in groups:
        if not group.items:
            continue
        if lines:
            lines.append("")
        lines.extend(render(table_rows(group.info, group.items, opts, now)))
    return lines


def as_list(objects: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": list(objects), "kind": "List", "metadata": {"resourceVersion": ""}}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, as kubectl prints the last-applied annotation; strings
    that need quotes in double quotes (``resourceVersion: ""``), as kubectl's YAML library does."""

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(
        obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1 << 20
    )


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, ensure_ascii=False)


def custom_columns(spec: str, objects: Sequence[dict[str, Any]], no_headers: bool = False) -> list[str]:
    """``-o custom-columns=NAME:.metadata.name,STATUS:.status.phase``."""
    columns = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep or not path:
            raise BadRequest(f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
        path = path.strip()
        if path.startswith("{") and path.endswith("}"):
            path = path[1:-1]
        columns.append((header, path if path.startswith((".", "$", "@")) else "." + path))
    rows = [] if no_headers else [[h for h, _ in columns]]
    for obj in objects:
        row = []
        for _h, path in columns:
            values = jsonpath.find(path, obj)
            row.append(",".join(jsonpath.format_value(v) for v in values) if values else "<none>")
        rows.append(row)
    return render(rows)


def render_data(spec: OutputSpec, objects: Sequence[dict[str, Any]], single: bool) -> str:
    """yaml/json/jsonpath/go-template of one object (``single``) or of a List of them."""
    data: Any = objects[0] if single and len(objects) == 1 else as_list(objects)
    if spec.format == "yaml":
        return to_yaml(data)
    if spec.format == "json":
        return to_json(data) + "\n"
    if spec.format == "jsonpath":
        return jsonpath.render(spec.arg, data)
    if spec.format == "go-template":
        return gotemplate.render(spec.arg, data)
    raise BadRequest(f"output format {spec.format} is not a data format")
