"""``jetkube apply -f FILE|DIR|- [-R]``: declarative create-or-update (see cli/apply.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import typer

from cli.apply import plan_apply
from cli.bulk import Progress, send_all, waves
from cli.commands.common import Errors, info_of, key_of, name_of, said
from cli.context import FilenameOpt, NamespaceOpt, RecursiveOpt, ServerOpt, run, settings
from cli.manifests import read_sources
from cli.resources import display_resource, object_namespace
from schemas.errors import AlreadyExists, BadRequest, JetkubeError, NotFound
from schemas.registry import ResourceInfo
from schemas.versions import spelled_in


def apply(
    ctx: typer.Context,
    filename: FilenameOpt = None,
    recursive: RecursiveOpt = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Apply a configuration to a resource by file name or stdin (creates it if missing)."""
    opts = settings(ctx, server, namespace)
    try:
        manifests = read_sources(filename or [], recursive, verb="apply")
    except JetkubeError as err:
        from cli.context import fail

        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        objects = [m.obj for m in manifests]
        prefetch = Prefetch(api, wanted_lists(objects, opts.namespace_flag, opts.namespace))

        async def send(i: int) -> tuple[ResourceInfo, str, str]:
            try:
                return await apply_one(api, objects[i], opts.namespace_flag, opts.namespace, prefetch)
            except AlreadyExists:  # created since the listing: decide again on the object itself
                return await apply_one(api, objects[i], opts.namespace_flag, opts.namespace)

        def report(_i: int, result: tuple[ResourceInfo, str, str] | None, err: JetkubeError | None) -> None:
            if err is not None:
                errors.report(err)
            elif result is not None:
                said(*result)

        plan = waves([key_of(o, opts.namespace_flag, opts.namespace) for o in objects])
        await send_all(len(objects), plan, send, report, Progress("applied", len(objects)))
        return errors.code

    run(opts, work)


#: From this many objects of one resource in one namespace, ``apply`` lists them once instead of
#: one GET each (5,000 pods: one request instead of 5,000 before the creates).
PREFETCH_MIN = 50


def wanted_lists(
    objects: list[dict[str, Any]], namespace_flag: str | None, default_ns: str
) -> set[tuple[str, str | None]]:
    """The (resource as spelled, namespace) pairs with at least :data:`PREFETCH_MIN` objects."""
    counts: Counter[tuple[str, str | None]] = Counter()
    for obj in objects:
        try:
            info = info_of(obj)
            ns = object_namespace(info, obj, namespace_flag, default_ns)
        except JetkubeError:
            continue  # e.g. a custom kind whose CRD is in the same file: looked up one by one
        counts[(spelled_in(info, str(obj.get("apiVersion") or "")), ns)] += 1
    return {key for key, n in counts.items() if n >= PREFETCH_MIN}


class Prefetch:
    """Live objects of the wanted (resource, namespace) pairs, listed once, at first need (after the
    Namespaces and CRDs of the first wave exist). A name absent from the listing is created; if
    someone created it since, the create's AlreadyExists sends the object down the GET path."""

    def __init__(self, api: Any, wanted: set[tuple[str, str | None]]) -> None:
        self.api, self.wanted = api, wanted
        self.live: dict[tuple[str, str | None], dict[str, dict[str, Any]]] = {}
        self.locks: dict[tuple[str, str | None], asyncio.Lock] = {}

    async def lookup(self, spelled: str, ns: str | None, name: str) -> tuple[bool, dict[str, Any] | None]:
        key = (spelled, ns)
        if key not in self.wanted:
            return False, None
        async with self.locks.setdefault(key, asyncio.Lock()):
            if key not in self.live:
                listing = await self.api.list(spelled, ns)
                self.live[key] = {o["metadata"]["name"]: o for o in listing.get("items") or []}
        return True, self.live[key].get(name)


async def apply_one(
    api: Any,
    obj: dict[str, Any],
    namespace_flag: str | None,
    default_ns: str,
    prefetch: Prefetch | None = None,
) -> tuple[ResourceInfo, str, str]:
    """Create or patch one object; returns what to say (``said(*result)``)."""
    info = info_of(obj)
    ns = object_namespace(info, obj, namespace_flag, default_ns)
    name = name_of(obj)
    if not name:
        if (obj.get("metadata") or {}).get("generateName"):
            raise BadRequest("cannot use generate name with apply")
        raise BadRequest("resource name may not be empty")
    spelled = spelled_in(info, str(obj.get("apiVersion") or ""))
    listed, live = await prefetch.lookup(spelled, ns, name) if prefetch else (False, None)
    if not listed:
        try:  # spelled in the manifest's version: an api that disabled it refuses (--runtime-config)
            live = await api.get(spelled, name, ns)
        except NotFound:
            live = None
    plan = plan_apply(obj, live)
    if plan.missing_annotation:
        typer.echo(
            f"Warning: resource {display_resource(info)}/{name} is missing the "
            "kubectl.kubernetes.io/last-applied-configuration annotation which is required by "
            "jetkube apply. jetkube apply should only be used on resources created declaratively "
            "by either jetkube create --save-config or jetkube apply. The missing annotation will "
            "be patched automatically.",
            err=True,
        )
    if plan.action == "create":
        body = dict(plan.body)
        if ns is not None:
            body["metadata"] = {**body.get("metadata", {}), "namespace": ns}
        await api.create(info.plural, body, ns)
        verb = "created"
    elif plan.action == "patch":
        await api.patch(info.plural, name, plan.body, "strategic", ns)
        verb = "configured"
    else:
        verb = "unchanged"
    return info, name, verb


def register(app: typer.Typer) -> None:
    app.command("apply")(apply)
