"""Helpers the client commands share: where an object goes, messages, errors that do not stop a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer

from cli.bulk import Key, object_key
from cli.context import echo_error
from cli.resources import qualified_kind
from schemas import registry
from schemas.errors import BadRequest, JetkubeError
from schemas.registry import ResourceInfo


@dataclass
class Errors:
    """kubectl goes on after a failed object, prints each error, and exits 1 at the end."""

    count: int = 0

    def report(self, err: JetkubeError) -> None:
        self.count += 1
        echo_error(err)

    @property
    def code(self) -> int:
        return 1 if self.count else 0


def info_of(obj: dict[str, Any]) -> ResourceInfo:
    """The resource a manifest's kind names (an unserved apiVersion is the api's to refuse)."""
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str):
        raise BadRequest("an object needs apiVersion and kind")
    return registry.by_api_version_kind(api_version, kind)[0]


def key_of(obj: dict[str, Any], namespace_flag: str | None, default_ns: str) -> Key:
    """The object's identity for :func:`cli.bulk.waves` (an unknown kind keys by its spelling)."""
    from cli.resources import object_namespace

    try:
        ns = object_namespace(info_of(obj), obj, namespace_flag, default_ns)
    except JetkubeError:
        ns = None
    return object_key(obj, ns)


def name_of(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def said(info: ResourceInfo, name: str, verb: str) -> None:
    """``pod/x created``, ``deployment.apps/nginx configured``."""
    typer.echo(f"{qualified_kind(info)}/{name} {verb}")


def parse_json_arg(text: str, what: str = "patch") -> Any:
    import json

    import yaml

    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadRequest(f"unable to parse {what} {text!r}: {exc}") from None


def show(info: ResourceInfo, name: str, obj: dict[str, Any], spec: Any, verb: str, dry_run: bool) -> None:
    """What a command that made ``obj`` prints: ``kind/name VERB [(dry run)]``, or ``obj`` in ``-o``."""
    from cli.printers.output import object_name, render_data

    if spec.format == "name":
        typer.echo(object_name(info, obj))
    elif spec.format in ("table", "wide"):
        typer.echo(f"{qualified_kind(info)}/{name} {verb}" + (" (dry run)" if dry_run else ""))
    else:
        typer.echo(render_data(spec, [obj], single=True), nl=False)
