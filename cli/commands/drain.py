"""``jetkube drain NODE [--ignore-daemonsets] [--force] [--delete-emptydir-data] [--grace-period N]
[--timeout D]``: the seed's node maintenance, as kubectl does it.

Cordon the node, ask :func:`actors.nodelifecycle.drain.plan_drain` which of its pods go, then evict
them and wait until each is gone, printing kubectl's lines as it goes (and, on stderr while pods
terminate, a status line naming them: cli/progress.py)::

    node/n1 cordoned
    Warning: ignoring DaemonSet-managed Pods: default/ds-x2k9q
    evicting pod default/web-7d4b9
    pod/web-7d4b9 evicted
    node/n1 drained

A plan with errors (DaemonSet pods without ``--ignore-daemonsets``, unmanaged pods without
``--force``, emptyDir pods without ``--delete-emptydir-data``) evicts nothing: the node stays
cordoned and kubectl's error block is printed, exit 1. Past ``--timeout`` the same block names the
pod still waited for.

Differences from kubectl: jetkube has no PodDisruptionBudgets, so an eviction (authorized as
``create pods/eviction``, as Kubernetes does) is a graceful delete of the pod (``--grace-period``,
default the pod's own), which is what the eviction API does once the budgets allow it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from actors.nodelifecycle.drain import plan_drain
from cli.commands.cordon import set_unschedulable
from cli.commands.rollout import parse_duration
from cli.context import ServerOpt, fail, run, settings
from cli.progress import StatusLine
from schemas.errors import BadRequest, JetkubeError, NotFound

POLL = 0.2


def failure_block(node: str, errors: list[str]) -> str:
    """kubectl's lines when a node cannot be drained (errors aggregated as ``[a, b]`` when many)."""
    joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    return "\n".join(
        [
            f'error: unable to drain node "{node}" due to error: {joined}, continuing command...',
            "There are pending nodes to be drained:",
            f" {node}",
            *errors,
        ]
    )


def pod_key(pod: dict[str, Any]) -> tuple[str, str, str]:
    meta = pod.get("metadata") or {}
    return str(meta.get("namespace") or "default"), str(meta.get("name")), str(meta.get("uid") or "")


@dataclass
class DrainOptions:
    ignore_daemonsets: bool = False
    force: bool = False
    delete_emptydir_data: bool = False
    grace_period: int | None = None  # None: each pod's own
    timeout: float = 0.0  # 0: wait forever


async def drain_node(
    api: Any,
    node: str,
    opts: DrainOptions,
    echo: Callable[[str], None],
    warn: Callable[[str], None],
    status: StatusLine | None = None,
) -> list[str]:
    """Cordon ``node``, evict its pods per the plan and wait until they are gone, saying on
    ``status`` (cli/progress.py) which pods are still awaited.

    Returns the errors that stopped the drain (empty when the node is drained); api errors raise.
    """
    status = status or StatusLine()
    changed = await set_unschedulable(api, node, True)
    echo(f"node/{node} {'cordoned' if changed else 'already cordoned'}")
    pods = (await api.list("pods", None, field_selector=f"spec.nodeName={node}"))["items"]
    plan = plan_drain(node, pods, opts.ignore_daemonsets, opts.force, opts.delete_emptydir_data)
    if plan.errors:
        return plan.errors
    for warning in plan.warnings:
        warn(f"Warning: {warning}")
    deadline = time.monotonic() + opts.timeout if opts.timeout > 0 else None
    waiting: list[tuple[str, str, str]] = []
    for pod in plan.to_evict:
        ns, name, uid = pod_key(pod)
        echo(f"evicting pod {ns}/{name}")
        try:
            await api.delete("pods", name, ns, grace_period_seconds=opts.grace_period, subresource="eviction")
        except NotFound:
            pass
        waiting.append((ns, name, uid))
    while waiting:
        still = []
        for ns, name, uid in waiting:
            try:
                current = await api.get("pods", name, ns)
            except NotFound:
                status.clear()
                echo(f"pod/{name} evicted")
                continue
            if uid and current["metadata"].get("uid") != uid:
                status.clear()
                echo(f"pod/{name} evicted")  # gone, and a new pod took the name
                continue
            still.append((ns, name, uid))
        waiting = still
        if not waiting:
            break
        status.show(waiting_line(waiting))
        if deadline is not None and time.monotonic() > deadline:
            status.clear()
            ns, name, _ = waiting[0]
            err = (
                f'error when waiting for pod "{name}" in namespace "{ns}" to terminate: '
                f"global timeout reached: {format_seconds(opts.timeout)}"
            )
            return [err]
        await asyncio.sleep(POLL)
    status.clear()
    echo(f"node/{node} drained")
    return []


def waiting_line(waiting: list[tuple[str, str, str]], shown: int = 3) -> str:
    """``waiting for 2 pods to terminate: default/a, default/b`` (the first few named)."""
    names = [f"{ns}/{name}" for ns, name, _ in waiting[:shown]]
    more = f" and {len(waiting) - shown} more" if len(waiting) > shown else ""
    noun = "pod" if len(waiting) == 1 else "pods"
    return f"waiting for {len(waiting)} {noun} to terminate: {', '.join(names)}{more}"


def format_seconds(seconds: float) -> str:
    """Go's duration spelling for whole figures: ``1m30s``, ``45s``, ``2h0m0s``."""
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{seconds:g}s"


def drain(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="NODE")],
    ignore_daemonsets: Annotated[
        bool, typer.Option("--ignore-daemonsets", help="Skip DaemonSet-managed pods")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also delete pods no controller manages (they are lost)")
    ] = False,
    delete_emptydir_data: Annotated[
        bool, typer.Option("--delete-emptydir-data", help="Also evict pods with emptyDir volumes (data lost)")
    ] = False,
    grace_period: Annotated[
        int, typer.Option("--grace-period", help="Seconds each pod gets to stop; -1: the pod's own")
    ] = -1,
    timeout: Annotated[
        str, typer.Option("--timeout", help="Give up after this long (e.g. 60s); 0: never")
    ] = "0s",
    server: ServerOpt = None,
) -> None:
    """Drain a node for maintenance: cordon it, then evict its pods."""
    opts = settings(ctx, server)
    try:
        limit = parse_duration(timeout)
        if grace_period < -1:
            raise BadRequest("--grace-period must be -1 (the pod's own) or at least 0")
    except JetkubeError as err:
        fail(err)
    options = DrainOptions(
        ignore_daemonsets=ignore_daemonsets,
        force=force,
        delete_emptydir_data=delete_emptydir_data,
        grace_period=None if grace_period < 0 else grace_period,
        timeout=limit,
    )

    async def work(api: Any) -> int:
        errors = await drain_node(api, node, options, typer.echo, lambda line: typer.echo(line, err=True))
        if errors:
            typer.echo(failure_block(node, errors), err=True)
            return 1
        return 0

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("drain")(drain)
