"""``jetkube wait (TYPE NAME | TYPE/NAME | TYPE -l SEL | TYPE --all | -f FILE) --for=... [--timeout=30s]``.

As kubectl: prints ``pod/x condition met`` for each object as it meets the condition (cli/waitfor.py),
and on timeout ``error: timed out waiting for the condition on pods/x`` (exit 1). Objects are polled
through the api with a growing interval (50 ms up to 1 s). A wait that lasts over a second says on
stderr what it still awaits and what the figure is now (cli/progress.py: in place on a terminal,
plain lines otherwise).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer

from cli.commands.common import Errors, info_of, name_of
from cli.commands.rollout import parse_duration
from cli.context import FilenameOpt, NamespaceOpt, SelectorOpt, ServerOpt, fail, run, settings
from cli.manifests import read_sources
from cli.progress import StatusLine
from cli.resources import parse_targets, qualified_kind
from cli.waitfor import WaitFor, met, parse_for
from schemas.errors import BadRequest, JetkubeError, NotFound, Timeout
from schemas.registry import ResourceInfo

A_WEEK = 7 * 24 * 3600.0


def wait(
    ctx: typer.Context,
    args: Annotated[list[str] | None, typer.Argument(help="TYPE NAME | TYPE/NAME | TYPE -l SEL")] = None,
    for_: Annotated[str, typer.Option("--for", help="delete|create|condition=C[=V]|jsonpath={...}=V")] = "",
    timeout: Annotated[str, typer.Option("--timeout", help="How long to wait (30s; 0: check once)")] = "30s",
    filename: FilenameOpt = None,
    selector: SelectorOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Every object of the type in the namespace")] = False,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A")] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Wait for a specific condition on one or many resources."""
    opts = settings(ctx, server, namespace)
    try:
        if not for_:
            raise BadRequest("--for must be specified")
        cond = parse_for(for_)
        seconds = parse_duration(timeout)
        if seconds < 0:
            seconds = A_WEEK
        named: list[tuple[ResourceInfo, str | None, str]] = []
        listed: list[tuple[ResourceInfo, str | None]] = []
        if filename:
            for m in read_sources(filename, verb="wait"):
                info = info_of(m.obj)
                ns = (m.obj.get("metadata") or {}).get("namespace") or opts.namespace
                named.append((info, ns if info.namespaced else None, name_of(m.obj)))
        else:
            for target in parse_targets(args or [], allow_all=False):
                ns = None if not target.info.namespaced or all_namespaces else opts.namespace
                if target.names:
                    named.extend((target.info, ns, n) for n in target.names)
                elif selector or all_:
                    listed.append((target.info, ns))
                else:
                    raise BadRequest("resource(s) were provided, but no name was specified")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        todo = list(named)
        for info, ns in listed:
            items = (await api.list(info.plural, ns, label_selector=selector))["items"]
            todo.extend(
                (info, (o["metadata"].get("namespace") if info.namespaced else None), name_of(o))
                for o in items
            )
        if not todo:
            fail(BadRequest("no matching resources found"))
        deadline = time.monotonic() + seconds
        for info, ns, name in todo:
            try:
                await wait_one(api, info, ns, name, cond, deadline)
                typer.echo(f"{qualified_kind(info)}/{name} condition met")
            except JetkubeError as err:
                errors.report(err)
        return errors.code

    run(opts, work)


async def wait_one(
    api: Any, info: ResourceInfo, ns: str | None, name: str, cond: WaitFor, deadline: float
) -> None:
    with StatusLine() as status:
        await _wait_one(api, info, ns, name, cond, deadline, status)


async def _wait_one(
    api: Any,
    info: ResourceInfo,
    ns: str | None,
    name: str,
    cond: WaitFor,
    deadline: float,
    status: StatusLine,
) -> None:
    delay = 0.05
    uid = None
    first = True
    while True:
        try:
            obj: dict[str, Any] | None = await api.get(info.plural, name, ns)
        except NotFound:
            if first and cond.kind not in ("delete", "create"):
                raise
            obj = None
        first = False
        if cond.kind == "delete" and obj is not None:  # a new object of the same name: the old one is gone
            this = (obj.get("metadata") or {}).get("uid")
            uid = uid or this
            if this != uid:
                obj = None
        if met(cond, obj):
            return
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out waiting for the condition on {info.plural}/{name}")
        status.show(f"waiting for {info.plural}/{name}: {describe(cond)}, now {now_of(cond, obj)}")
        await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 1.0)


def now_of(cond: WaitFor, obj: dict[str, Any] | None) -> str:
    """What the awaited figure is now: ``absent``, ``present``, a condition's status, a path's value."""
    if obj is None:
        return "absent"
    if cond.kind in ("delete", "create"):
        return "present"
    if cond.kind == "condition":
        for c in (obj.get("status") or {}).get("conditions") or []:
            if str(c.get("type", "")).lower() == cond.name.lower():
                return f"{c.get('type')}={c.get('status')}"
        return "no such condition"
    from cli import jsonpath

    path = cond.name[1:-1] if cond.name.startswith("{") and cond.name.endswith("}") else cond.name
    values = jsonpath.find(path if path.startswith((".", "$")) else "." + path, obj)
    return jsonpath.format_value(values[0]) if len(values) == 1 else ("<none>" if not values else "many")


def describe(cond: WaitFor) -> str:
    if cond.kind in ("delete", "create"):
        return cond.kind
    if cond.kind == "condition":
        return f"condition {cond.name}={cond.value or 'true'}"
    return f"{cond.name}={cond.value}" if cond.value is not None else cond.name


def register(app: typer.Typer) -> None:
    app.command("wait")(wait)
