"""``jetkube rollout status|history|undo|pause|resume|restart TYPE/NAME``, as kubectl does them.

``status`` prints kubectl's progress lines as the rollout goes (a watch on the one object, each new
line printed once) and exits 0 when the rollout is done, 1 past the Deployment's progress deadline
(``error: deployment "x" exceeded its progress deadline``) or past ``--timeout``
(``error: timed out waiting for the condition``); ``--watch=false`` prints the current line once.
Deployments, DaemonSets and StatefulSets have a status; history and undo work for all three (a
Deployment's revisions are its ReplicaSets, the others' their ControllerRevisions); pause/resume
are the Deployment's; restart works for all three.

The pure parts (:func:`status_line`, :func:`history_lines`, :func:`revision_lines`,
:func:`parse_duration`) take objects in and give lines out; the commands around them do the I/O.
The Deployment logic itself lives in :mod:`actors.deployment.rollout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from actors.deployment import rollout as dr
from actors.workload import revisions as cr
from bus.cancelsafe import wait_for
from cli.context import NamespaceOpt, ServerOpt, fail, run, settings
from cli.resources import Target, parse_targets, qualified_kind
from schemas.errors import BadRequest, JetkubeError, NotFound, Timeout
from schemas.registry import ResourceInfo

STATUS_KINDS = ("deployments", "daemonsets", "statefulsets")
RESTART_KINDS = ("deployments", "daemonsets", "statefulsets")
HISTORY_KINDS = ("deployments", "daemonsets", "statefulsets")  # ReplicaSets; ControllerRevisions
TIMED_OUT = "timed out waiting for the condition"

# ----------------------------------------------------------------------------- pure


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str, flag: str = "--timeout") -> float:
    """A Go duration (``30s``, ``1m30s``, ``500ms``) or plain seconds, in seconds; 0 means none."""
    value = text.strip()
    try:
        return float(value)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]
        pos = m.end()
    if pos != len(value) or pos == 0:
        raise BadRequest(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration "{text}"')
    return total


def daemonset_status(ds: dict[str, Any]) -> tuple[str, bool]:
    """kubectl's ``DaemonSetStatusViewer``."""
    name = (ds.get("metadata") or {}).get("name")
    spec, status = ds.get("spec") or {}, ds.get("status") or {}
    if ((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate") != "RollingUpdate":
        raise BadRequest("rollout status is only available for RollingUpdate strategy type")
    if int((ds.get("metadata") or {}).get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return "Waiting for daemon set spec update to be observed...", False
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return (
            f'Waiting for daemon set "{name}" rollout to finish: '
            f"{updated} out of {desired} new pods have been updated...",
            False,
        )
    if available < desired:
        return (
            f'Waiting for daemon set "{name}" rollout to finish: '
            f"{available} of {desired} updated pods are available...",
            False,
        )
    return f'daemon set "{name}" successfully rolled out', True


def statefulset_status(sts: dict[str, Any]) -> tuple[str, bool]:
    """kubectl's ``StatefulSetStatusViewer``."""
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        raise BadRequest("rollout status is only available for RollingUpdate strategy type")
    observed = int(status.get("observedGeneration") or 0)
    if observed == 0 or int((sts.get("metadata") or {}).get("generation") or 0) > observed:
        return "Waiting for statefulset spec update to be observed...", False
    replicas = spec.get("replicas")
    ready = int(status.get("readyReplicas") or 0)
    if replicas is not None and ready < int(replicas):
        return f"Waiting for {int(replicas) - ready} pods to be ready...", False
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    updated = int(status.get("updatedReplicas") or 0)
    if replicas is not None and partition:
        if updated < int(replicas) - int(partition):
            return (
                f"Waiting for partitioned roll out to finish: {updated} out of "
                f"{int(replicas) - int(partition)} new pods have been updated...",
                False,
            )
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    if status.get("updateRevision") != status.get("currentRevision"):
        return (
            f"waiting for statefulset rolling update to complete {updated} pods at revision "
            f"{status.get('updateRevision')}...",
            False,
        )
    return (
        f"statefulset rolling update complete {int(status.get('currentReplicas') or 0)} pods at revision "
        f"{status.get('currentRevision')}...",
        True,
    )


def status_line(plural: str, obj: dict[str, Any]) -> tuple[str, bool]:
    """The line ``rollout status`` prints for ``obj`` and whether the rollout is done.

    Raises Timeout (a Deployment past its progress deadline) or BadRequest (no status viewer).
    """
    if plural == "deployments":
        return dr.rollout_status(obj)
    if plural == "daemonsets":
        return daemonset_status(obj)
    if plural == "statefulsets":
        return statefulset_status(obj)
    raise BadRequest(f"no status viewer has been implemented for {plural}")


def current_revisions(revisions: Sequence[Any]) -> list[Any]:
    """One entry per ReplicaSet, its latest revision: kubectl lists no revision-history aliases."""
    latest: dict[str, int] = {}
    for r in revisions:
        latest[r.replicaset] = max(latest.get(r.replicaset, 0), r.revision)
    return [r for r in revisions if latest[r.replicaset] == r.revision]


def history_lines(info: ResourceInfo, name: str, revisions: Sequence[Any]) -> list[str]:
    """kubectl's ``rollout history`` table, headed by the object's name."""
    from cli.printers.table import render

    rows = [["REVISION", "CHANGE-CAUSE"]]
    rows += [[str(r.revision), r.change_cause or "<none>"] for r in current_revisions(revisions)]
    return [f"{qualified_kind(info)}/{name}", *render(rows), ""]


def revision_lines(info: ResourceInfo, name: str, revisions: Sequence[Any], number: int) -> list[str]:
    """``rollout history --revision N``: the revision's pod template, as describe prints it."""
    from cli.describe.kinds import _pod_template  # describe's pod template block, reused as kubectl does
    from cli.describe.writer import Writer

    for rev in revisions:
        if rev.revision == number:
            w = Writer()
            _pod_template(w, rev.template)
            return [
                f"{qualified_kind(info)}/{name} with revision #{number}",
                *w.text().rstrip("\n").split("\n"),
                "",
            ]
    raise NotFound("unable to find the specified revision")


def pause_patch(obj: dict[str, Any], paused: bool) -> dict[str, Any] | None:
    """The merge patch that (un)pauses a Deployment; None when it already is."""
    if bool((obj.get("spec") or {}).get("paused")) == paused:
        return None
    return {"spec": {"paused": paused or None}}


# ----------------------------------------------------------------------------- argv


class KubectlFlags(TyperCommand):
    """Accept kubectl's ``--watch=true|false`` spelling for the boolean ``--watch/--no-watch``."""

    bool_flags: tuple[str, ...] = ("--watch", "-w")

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        out = []
        for arg in args:
            name, sep, value = arg.partition("=")
            if sep and name in self.bool_flags and value.lower() in ("true", "false"):
                out.append("--watch" if value.lower() == "true" else "--no-watch")
            else:
                out.append(arg)
        return super().parse_args(ctx, out)


# ----------------------------------------------------------------------------- I/O

Echo = Callable[[str], None]


def _one_target(args: list[str], allowed: Sequence[str], verb: str) -> tuple[ResourceInfo, list[str]]:
    targets: list[Target] = parse_targets(args, allow_all=False)
    for t in targets:
        if t.info.plural not in allowed:
            raise BadRequest(f"{verb} is not supported for {t.info.plural} (only {', '.join(allowed)})")
        if not t.names:
            raise BadRequest("resource name may not be empty")
    if len(targets) != 1:
        raise BadRequest(f"rollout {verb} takes one resource type")
    return targets[0].info, targets[0].names


async def follow_status(
    api: Any, info: ResourceInfo, namespace: str, name: str, echo: Echo, *, watch: bool = True
) -> None:
    """Print the status line now and, with ``watch``, each new one until the rollout is done."""
    obj = await api.get(info.plural, name, namespace)
    line, done = status_line(info.plural, obj)
    echo(line)
    if done or not watch:
        return
    rv = obj["metadata"].get("resourceVersion")
    while True:
        async with contextlib.aclosing(
            api.watch(info.plural, namespace, field_selector=f"metadata.name={name}", resource_version=rv)
        ) as events:
            async for event in events:
                if event.type == "BOOKMARK":
                    continue
                if event.type == "DELETED":
                    raise NotFound("object has been deleted")
                rv = event.object["metadata"].get("resourceVersion", rv)
                new, done = status_line(info.plural, event.object)
                if new != line:
                    echo(new)
                    line = new
                if done:
                    return
        # the watch ended (reconnect): re-read and go on from the current state
        obj = await api.get(info.plural, name, namespace)
        rv = obj["metadata"].get("resourceVersion")
        new, done = status_line(info.plural, obj)
        if new != line:
            echo(new)
            line = new
        if done:
            return
        await asyncio.sleep(0.2)


def status(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="TYPE NAME | TYPE/NAME (deployment, daemonset)")],
    watch: Annotated[
        bool, typer.Option("--watch/--no-watch", "-w", help="Watch until the rollout is done (--watch=false)")
    ] = True,
    timeout: Annotated[
        str, typer.Option("--timeout", help="Give up after this long (e.g. 30s, 5m); 0 waits forever")
    ] = "0s",
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Show the status of the rollout, following it until it is done."""
    opts = settings(ctx, server, namespace)
    try:
        info, names = _one_target(args, STATUS_KINDS, "status")
        limit = parse_duration(timeout)
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        follow = follow_status(api, info, opts.namespace, names[0], typer.echo, watch=watch)
        if limit <= 0:
            await follow
            return 0
        try:
            await wait_for(follow, limit)
        except TimeoutError:
            raise Timeout(TIMED_OUT) from None
        return 0

    run(opts, work)


def history(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="deployment/NAME")],
    revision: Annotated[int, typer.Option("--revision", help="Show this revision's pod template")] = 0,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """View the rollout history of a Deployment, DaemonSet or StatefulSet."""
    opts = settings(ctx, server, namespace)
    try:
        info, names = _one_target(args, HISTORY_KINDS, "history")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        revisions: Sequence[Any]
        if info.plural == "deployments":
            revisions = await dr.list_history(api, opts.namespace, names[0])
        else:
            revisions = await cr.list_history(api, info.plural, opts.namespace, names[0])
        if revision:
            lines = revision_lines(info, names[0], revisions, revision)
        else:
            lines = history_lines(info, names[0], revisions)
        typer.echo("\n".join(lines))
        return 0

    run(opts, work)


def undo(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="deployment/NAME")],
    to_revision: Annotated[
        int, typer.Option("--to-revision", help="The revision to go back to (0: the previous one)")
    ] = 0,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Roll a Deployment, DaemonSet or StatefulSet back to its previous (or the given) revision."""
    opts = settings(ctx, server, namespace)
    try:
        info, names = _one_target(args, HISTORY_KINDS, "undo")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        if info.plural == "deployments":
            _deploy, message = await dr.undo(api, opts.namespace, names[0], to_revision)
        else:
            message = await cr.undo(api, info.plural, opts.namespace, names[0], to_revision)
        typer.echo(message)
        return 0

    run(opts, work)


def _pause_or_resume(
    ctx: typer.Context, args: list[str], ns: str | None, server: str | None, pause: bool
) -> None:
    opts = settings(ctx, server, ns)
    verb = "paused" if pause else "resumed"
    try:
        info, names = _one_target(args, ("deployments",), "pause" if pause else "resume")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        for name in names:
            obj = await api.get(info.plural, name, opts.namespace)
            body = pause_patch(obj, pause)
            if body is None:
                typer.echo(f"{qualified_kind(info)}/{name} already {verb}")
                continue
            body["metadata"] = {"resourceVersion": obj["metadata"].get("resourceVersion")}
            await api.patch(info.plural, name, body, "merge", opts.namespace)
            typer.echo(f"{qualified_kind(info)}/{name} {verb}")
        return 0

    run(opts, work)


def pause(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="deployment/NAME")],
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Pause a Deployment: template changes start no rollout until it is resumed."""
    _pause_or_resume(ctx, args, namespace, server, True)


def resume(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="deployment/NAME")],
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Resume a paused Deployment."""
    _pause_or_resume(ctx, args, namespace, server, False)


def restart(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="deployment/NAME | daemonset/NAME")],
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Restart a Deployment's or DaemonSet's pods with a new rollout."""
    opts = settings(ctx, server, namespace)
    try:
        info, names = _one_target(args, RESTART_KINDS, "restart")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        from actors.workload.timeutil import utcnow

        for name in names:
            obj = await api.get(info.plural, name, opts.namespace)
            if (obj.get("spec") or {}).get("paused"):
                raise BadRequest(
                    f'deployments "{name}" can\'t restart paused deployment (run rollout resume first)'
                )
            body = dr.restart_patch(utcnow())
            await api.patch(info.plural, name, body, "merge", opts.namespace)
            typer.echo(f"{qualified_kind(info)}/{name} restarted")
        return 0

    run(opts, work)


def register(app: typer.Typer) -> None:
    rollout_app = typer.Typer(
        name="rollout",
        help="Manage the rollout of a Deployment or DaemonSet.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    rollout_app.command("status", cls=KubectlFlags)(status)
    rollout_app.command("history")(history)
    rollout_app.command("undo")(undo)
    rollout_app.command("pause")(pause)
    rollout_app.command("resume")(resume)
    rollout_app.command("restart")(restart)
    app.add_typer(rollout_app, name="rollout")
