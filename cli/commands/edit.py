"""``jetkube edit TYPE NAME | TYPE/NAME [-o yaml|json]``: the object in ``$KUBE_EDITOR`` or ``$EDITOR``
(``vi`` by default), saved back with compare-and-set.

As kubectl: the buffer is the object as YAML (or JSON) under a header of ``#`` lines (cli/editing.py).
Saving an unchanged or empty buffer prints ``Edit cancelled, no changes made.``. Otherwise the edited
object is written with an update on the revision that was read (so a change someone made meanwhile
is a Conflict, never lost); a refused save (invalid field, conflict, bad YAML) reopens the editor
with the error at the top and the edits kept; saving that buffer again unchanged gives up with
``error: Edit cancelled, no valid changes were saved.`` and keeps a copy of the edits in a file.
Success prints ``deployment.apps/nginx edited``.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from typing import Annotated, Any

import typer

from cli import editing
from cli.context import NamespaceOpt, ServerOpt, fail, run, settings
from cli.resources import parse_targets, qualified_kind
from schemas.errors import BadRequest, Conflict, JetkubeError


def editor_command() -> list[str]:
    text = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    return shlex.split(text)


def run_editor(path: str) -> None:
    try:
        code = subprocess.call([*editor_command(), path])
    except OSError as exc:
        raise BadRequest(f"cannot start the editor {editor_command()[0]!r}: {exc.strerror}") from None
    if code != 0:
        raise BadRequest(f"there was a problem with the editor {' '.join(editor_command())!r}")


def edit_round(path: str, text: str) -> str:
    """Write ``text`` to ``path``, let the user edit it, return what they saved."""
    with open(path, "w") as f:
        f.write(text)
    run_editor(path)
    with open(path) as f:
        return f.read()


def keep_copy(text: str, fmt: str) -> str:
    with tempfile.NamedTemporaryFile("w", prefix="jetkube-edit-", suffix=f".{fmt}", delete=False) as f:
        f.write(text)
        return f.name


def edit(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="TYPE NAME | TYPE/NAME")],
    output: Annotated[str, typer.Option("--output", "-o", help="yaml|json: the buffer's format")] = "yaml",
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Edit a resource on the server with the default editor."""
    opts = settings(ctx, server, namespace)
    try:
        if output not in ("yaml", "json"):
            raise BadRequest(f'the edit mode "{output}" is not supported: use yaml or json')
        targets = parse_targets(args, allow_all=False)
        refs = [(t.info, n) for t in targets for n in t.names]
        if not refs:
            raise BadRequest("resource(s) were provided, but no name was specified")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        code = 0
        for info, name in refs:
            ns = opts.namespace if info.namespaced else None
            live = await api.get(info.plural, name, ns)
            what = f'{info.plural}{"." + info.group if info.group else ""} "{name}"'
            result = await edit_one(api, info.plural, ns, live, output, what)
            if result == "edited":
                typer.echo(f"{qualified_kind(info)}/{name} edited")
            elif result == "cancelled":
                typer.echo("Edit cancelled, no changes made.")
            else:
                code = 1
        return code

    run(opts, work)


async def edit_one(api: Any, plural: str, ns: str | None, live: dict[str, Any], fmt: str, what: str) -> str:
    """Loop editor -> save until saved, cancelled, or the same failing buffer is saved twice."""
    original = editing.render(live, fmt)
    body, errors = original, None
    with tempfile.TemporaryDirectory(prefix="jetkube-edit-") as tmp:
        path = os.path.join(tmp, f"{plural}-edit.{fmt}")
        while True:
            shown = editing.buffer(body, errors)
            text = await asyncio.to_thread(edit_round, path, shown)
            edited_body = editing.strip_comments(text)
            if errors is not None and edited_body == editing.strip_comments(shown):
                keep = tempfile.NamedTemporaryFile(
                    "w", prefix="jetkube-edit-", suffix=f".{fmt}", delete=False
                )
                with keep:
                    keep.write(text)
                typer.echo(f"A copy of your changes has been stored to {keep.name!r}", err=True)
                typer.echo("error: Edit cancelled, no valid changes were saved.", err=True)
                return "failed"
            try:
                obj = editing.parse(text, fmt)
                if obj is None or edited_body == editing.strip_comments(editing.buffer(original)):
                    return "cancelled"
                meta = obj.setdefault("metadata", {})
                if not isinstance(meta, dict):
                    raise BadRequest("metadata must be a mapping")
                meta["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
                await api.update(plural, obj, ns)
                return "edited"
            except Conflict as err:  # someone wrote meanwhile: the next save compares with their revision
                live = await api.get(plural, str((live.get("metadata") or {}).get("name")), ns)
                errors = editing.error_lines(err, what)
                body = edited_body
            except JetkubeError as err:
                errors = editing.error_lines(err, what)
                body = edited_body


def register(app: typer.Typer) -> None:
    app.command("edit")(edit)
