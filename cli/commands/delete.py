"""``jetkube delete -f FILE | TYPE NAME... | TYPE/NAME | TYPE -l SEL | TYPE --all``.

Prints ``pod "x" deleted`` as kubectl does, then (``--wait``, the default) waits until every
deleted object is gone: a pod being deleted gracefully stays, Terminating, until its kubelet has
stopped it. ``--now`` is a grace period of 1 s; ``--force --grace-period=0`` removes at once.
A wait past a second names on stderr what is still awaited and what holds it (finalizers, a grace
period): cli/progress.py; past 100 objects the bulk progress line counts them instead.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer

from cli.bulk import Progress, send_all, waves
from cli.commands.common import Errors, info_of, name_of
from cli.context import FilenameOpt, NamespaceOpt, RecursiveOpt, SelectorOpt, ServerOpt, fail, run, settings
from cli.manifests import read_sources
from cli.progress import StatusLine
from cli.resources import object_namespace, parse_targets, qualified_kind
from schemas.errors import BadRequest, JetkubeError, NotFound, Timeout
from schemas.registry import ResourceInfo

CASCADE = {
    "background": "Background",
    "foreground": "Foreground",
    "orphan": "Orphan",
    "true": "Background",
    "false": "Orphan",
}


def propagation(cascade: str) -> str:
    try:
        return CASCADE[cascade.lower()]
    except KeyError:
        raise BadRequest(
            f'invalid cascade value ({cascade}). Must be "background", "foreground", or "orphan".'
        ) from None


def grace_seconds(grace_period: int, now: bool, force: bool) -> int | None:
    if now and grace_period >= 0:
        raise BadRequest("--now and --grace-period cannot be specified together")
    if now:
        return 1
    if force and grace_period < 0:
        return 0
    return grace_period if grace_period >= 0 else None


def delete(
    ctx: typer.Context,
    args: Annotated[
        list[str] | None, typer.Argument(help="TYPE NAME... | TYPE/NAME... | TYPE -l SEL | TYPE --all")
    ] = None,
    filename: FilenameOpt = None,
    recursive: RecursiveOpt = False,
    selector: SelectorOpt = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Delete every object of the type in the namespace")
    ] = False,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A")] = False,
    grace_period: Annotated[
        int, typer.Option("--grace-period", help="Seconds to terminate gracefully; -1: the object's own")
    ] = -1,
    now: Annotated[bool, typer.Option("--now", help="Signal immediate shutdown (grace period 1)")] = False,
    force: Annotated[bool, typer.Option("--force", help="With --grace-period=0: remove at once")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the objects are gone")] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait; 0: the grace period plus 60 s")
    ] = 0,
    cascade: Annotated[str, typer.Option("--cascade", help="background|foreground|orphan")] = "background",
    ignore_not_found: Annotated[bool, typer.Option("--ignore-not-found")] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", help="name")] = None,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Delete resources by file names, stdin, resources and names, or by resources and label selector."""
    opts = settings(ctx, server, namespace)
    try:
        policy = propagation(cascade)
        grace = grace_seconds(grace_period, now, force)
        objects: list[tuple[ResourceInfo, str | None, str]] = []
        selections: list[tuple[ResourceInfo, str | None]] = []
        if filename:
            for manifest in read_sources(filename, recursive, verb="delete"):
                info = info_of(manifest.obj)
                ns = object_namespace(info, manifest.obj, opts.namespace_flag, opts.namespace)
                objects.append((info, ns, name_of(manifest.obj)))
        else:
            targets = parse_targets(args or [], allow_all=False)
            for target in targets:
                ns = None if not target.info.namespaced or all_namespaces else opts.namespace
                if target.names:
                    objects.extend((target.info, ns, n) for n in target.names)
                elif selector or all_:
                    selections.append((target.info, ns))
                else:
                    raise BadRequest("resource(s) were provided, but no name was specified")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        todo = list(objects)
        for info, ns in selections:
            listing = await api.list(info.plural, ns, label_selector=selector)
            todo.extend(
                (info, (o["metadata"].get("namespace") if info.namespaced else None), name_of(o))
                for o in listing["items"]
            )
        if not todo and selections:
            where = f" in {opts.namespace} namespace" if selections[0][1] else ""
            typer.echo(f"No resources found{where}.", err=True)
        deleted: list[tuple[ResourceInfo, str | None, str, str]] = []
        if force and grace == 0:
            typer.echo(
                "Warning: Immediate deletion does not wait for confirmation that the running resource "
                "has been terminated. The resource may continue to run on the cluster indefinitely.",
                err=True,
            )
        verb = "force deleted" if force and grace == 0 else "deleted"

        async def send(i: int) -> str:
            info, ns, name = todo[i]
            last = await api.delete(
                info.plural, name, ns, grace_period_seconds=grace, propagation_policy=policy
            )
            return str(((last or {}).get("metadata") or {}).get("uid") or "")

        def report(i: int, uid: str | None, err: JetkubeError | None) -> None:
            info, ns, name = todo[i]
            if err is not None:
                if not (isinstance(err, NotFound) and ignore_not_found):
                    errors.report(err)
                return
            deleted.append((info, ns, name, uid or ""))
            if output == "name":
                typer.echo(f"{qualified_kind(info)}/{name}")
            else:
                typer.echo(f'{qualified_kind(info)} "{name}" {verb}')

        keys = [(info.group, info.kind, ns or "", name) for info, ns, name in todo]
        plan = waves(keys, reverse=True)
        await send_all(len(todo), plan, send, report, Progress("deleted", len(todo)))
        if wait and deleted:
            limit = timeout or (grace or 30) + 60

            progress = Progress("gone", len(deleted))
            # a status line naming what is awaited, unless the bulk progress line counts them
            status = None if progress.enabled else StatusLine()
            awaited = Awaited(status)

            async def gone(i: int) -> None:
                info, ns, name, uid = deleted[i]
                await wait_gone(api, info, ns, name, uid, limit, awaited)

            def waited(_i: int, _result: None, err: JetkubeError | None) -> None:
                if status is not None:
                    status.clear()
                if err is not None:
                    errors.report(err)

            everything = [list(range(len(deleted)))]
            try:
                await send_all(len(deleted), everything, gone, waited, progress)
            finally:
                if status is not None:
                    status.clear()
        return errors.code

    run(opts, work)


class Awaited:
    """The objects ``delete --wait`` still waits for, said on one status line (cli/progress.py)."""

    def __init__(self, status: StatusLine | None = None, shown: int = 2) -> None:
        self.status = status
        self.shown = shown
        self.pending: dict[str, str] = {}  # "pods/x" -> what holds it ("" when nothing is known)

    def still(self, what: str, why: str) -> None:
        self.pending[what] = why
        if self.status is not None:
            self.status.show(self.line())

    def gone(self, what: str) -> None:
        self.pending.pop(what, None)

    def line(self) -> str:
        items = list(self.pending.items())
        named = ", ".join(f"{w}{y}" for w, y in items[: self.shown])
        more = f" and {len(items) - self.shown} more" if len(items) > self.shown else ""
        return f"waiting for {len(items)} to be gone: {named}{more}"


async def wait_gone(
    api: Any,
    info: ResourceInfo,
    ns: str | None,
    name: str,
    uid: str,
    timeout: float,
    awaited: Awaited | None = None,
) -> None:
    """Poll until the object (that uid; a re-created namesake counts as gone) no longer exists;
    ``awaited`` hears what is still waited for."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    what = f"{info.plural}/{name}"
    try:
        while True:
            try:
                obj = await api.get(info.plural, name, ns)
            except NotFound:
                return
            if uid and str((obj.get("metadata") or {}).get("uid") or "") != uid:
                return
            if time.monotonic() >= deadline:
                raise Timeout(f"timed out waiting for the condition on {what}")
            if awaited is not None:
                awaited.still(what, _why(obj))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
    finally:
        if awaited is not None:
            awaited.gone(what)


def _why(obj: dict[str, Any]) -> str:
    """What holds the object: its finalizers, or a pod's grace period."""
    meta = obj.get("metadata") or {}
    if meta.get("finalizers"):
        return f" (finalizers: {', '.join(map(str, meta['finalizers']))})"
    grace = meta.get("deletionGracePeriodSeconds")
    return f" (grace period {grace}s)" if grace else ""


def register(app: typer.Typer) -> None:
    app.command("delete")(delete)
