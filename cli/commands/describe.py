"""``jetkube describe TYPE [NAME...]`` (also ``TYPE/NAME``, ``-l``), ending with the events.

Events are read with ``api.list("events", namespace)`` and matched on the involved object's uid
(or kind and name, for events recorded before the object had a uid).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.context import AllNamespacesOpt, NamespaceOpt, SelectorOpt, ServerOpt, fail, run, settings
from cli.describe.kinds import describe as describe_text
from cli.printers.age import now_utc
from cli.resources import parse_targets
from schemas.errors import JetkubeError


def related_events(events: list[dict[str, Any]], obj: dict[str, Any]) -> list[dict[str, Any]]:
    meta = obj.get("metadata") or {}
    uid, name, kind = meta.get("uid"), meta.get("name"), obj.get("kind")

    def matches(ev: dict[str, Any]) -> bool:
        ref = ev.get("involvedObject") or ev.get("regarding") or {}
        if uid and ref.get("uid"):
            return ref.get("uid") == uid
        return ref.get("name") == name and (not kind or ref.get("kind") == kind)

    return sorted((e for e in events if matches(e)), key=lambda e: str(e.get("lastTimestamp") or ""))


async def context_for(api: Any, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Related objects some describers show (a node's pods, an RC's pods, a service's endpoints)."""
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name")
    try:
        if plural == "nodes":
            pods = (await api.list("pods", None, field_selector=f"spec.nodeName={name}"))["items"]
            live = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            return {"pods": live}
        if plural == "persistentvolumeclaims":
            pods = (await api.list("pods", ns))["items"]
            used = [
                p
                for p in pods
                if any(
                    (v.get("persistentVolumeClaim") or {}).get("claimName") == name
                    for v in (p.get("spec") or {}).get("volumes") or []
                )
            ]
            return {"pods": used}
        if plural in ("replicationcontrollers", "replicasets", "statefulsets"):
            selector = (obj.get("spec") or {}).get("selector") or {}
            labels = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
            if labels and "matchExpressions" not in selector:
                text = ",".join(f"{k}={v}" for k, v in labels.items())
                return {"pods": (await api.list("pods", ns, label_selector=text))["items"]}
        if plural == "services":
            return {"endpoints": await api.get("endpoints", name, ns)}
    except JetkubeError:
        pass
    return {}


def describe(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="TYPE [NAME...] | TYPE/NAME")],
    selector: SelectorOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Show details of a specific resource or group of resources, with their events."""
    opts = settings(ctx, server, namespace)
    try:
        targets = parse_targets(args, allow_all=False)
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        code = 0
        first = True
        for target in targets:
            info = target.info
            ns = None if not info.namespaced or all_namespaces else opts.namespace
            objects: list[dict[str, Any]] = []
            if target.names:
                for name in target.names:
                    try:
                        objects.append(await api.get(info.plural, name, ns))
                    except JetkubeError as err:
                        typer.echo(err.cli_line(), err=True)
                        code = 1
            else:
                objects = (await api.list(info.plural, ns, label_selector=selector))["items"]
            for obj in objects:
                obj_ns = (obj.get("metadata") or {}).get("namespace")
                try:
                    events = (await api.list("events", obj_ns))["items"] if info.plural != "events" else []
                except JetkubeError:
                    events = []
                extra = await context_for(api, info.plural, obj)
                if not first:
                    typer.echo("")
                    typer.echo("")
                first = False
                text = describe_text(info.plural, obj, related_events(events, obj), now_utc(), extra)
                typer.echo(text, nl=False)
        return code

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("describe")(describe)
