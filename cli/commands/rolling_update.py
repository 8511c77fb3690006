"""``jetkube rolling-update OLD [NEW] (-f NEW_RC.yaml | --image=IMAGE) [--update-period=1m]
[--poll-interval=3s] [--timeout=5m] [--rollback]``: the seed's rolling upgrade of a
ReplicationController, as kubectl 1.2 did it.

A new RC (from the file, or the old one with ``--image`` changed and a ``deployment=<hash>`` label
in its selector; the old RC and its pods get ``deployment=<old hash>`` first so neither claims the
other's pods) starts at 0 and goes up one pod at a time while the old one goes down
(cli/rollingupdate.py: at most desired + 1 pods, at least desired ready), waiting for the new pods
to be ready (``--poll-interval``, up to ``--timeout`` per step) and ``--update-period`` between
steps. Each step prints a line as kubectl does; while a step waits for pods, a status line on
stderr says how many of each RC's are ready (cli/progress.py). At the end the old RC is deleted;
with ``--image`` the new RC is renamed to the old name (deleted with its pods orphaned, then
re-created under the old name, which adopts them). An interrupted update continues when run again
(the new RC exists); ``--rollback`` reverses it: the old RC back up to its original size, the new
one down and deleted.
Every write is compare-and-set on the revision read.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer

from cli import rollingupdate as ru
from cli.commands.rollout import parse_duration
from cli.context import FilenameOpt, NamespaceOpt, ServerOpt, fail, run, settings
from cli.manifests import read_sources
from cli.progress import StatusLine
from schemas.errors import BadRequest, Conflict, JetkubeError, NotFound, Timeout
from schemas.labels import selector_from_map

RC = "replicationcontrollers"


def rolling_update(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="OLD [NEW]")],
    filename: FilenameOpt = None,
    image: Annotated[str, typer.Option("--image", help="The new image (instead of -f)")] = "",
    container: Annotated[str, typer.Option("--container", help="With --image: which container")] = "",
    update_period: Annotated[str, typer.Option("--update-period", help="Time between steps")] = "1m0s",
    poll_interval: Annotated[
        str, typer.Option("--poll-interval", help="Time between readiness polls")
    ] = "3s",
    timeout: Annotated[str, typer.Option("--timeout", help="Max time a step may wait")] = "5m0s",
    rollback: Annotated[bool, typer.Option("--rollback", help="Reverse a partly done update")] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Perform a rolling update of the given ReplicationController."""
    opts = settings(ctx, server, namespace)
    try:
        if not args or len(args) > 2:
            raise BadRequest("Must specify the controller to update")
        period = parse_duration(update_period, "--update-period")
        poll = parse_duration(poll_interval, "--poll-interval")
        limit = parse_duration(timeout, "--timeout")
        if bool(filename) == bool(image) and not (rollback and len(args) == 2):
            raise BadRequest("Must specify --filename or --image for new controller")
        new_file = None
        if filename:
            objs = [m.obj for m in read_sources(filename, verb="rolling-update")]
            if len(objs) != 1 or objs[0].get("kind") != "ReplicationController":
                raise BadRequest(
                    f"{filename[0]} contains a {objs[0].get('kind')} not a ReplicationController"
                )
            new_file = objs[0]
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        ns = opts.namespace
        old = await api.get(RC, args[0], ns)
        if rollback:
            new_name = (
                args[1] if len(args) == 2 else ru.new_from_image(old, image, container)["metadata"]["name"]
            )
            if new_file is not None:
                new_name = new_file["metadata"]["name"]
            new = await api.get(RC, new_name, ns)
            desired = int(
                ((old["metadata"].get("annotations") or {}).get(ru.ORIGINAL))
                or new["spec"].get("replicas", 1)
            )
            typer.echo(f"Setting {old['metadata']['name']} replicas to {desired}")
            await roll(
                api, ns, from_rc=new, to_rc=old, desired=desired, period=period, poll=poll, limit=limit
            )
            typer.echo(f"Rollback succeeded. Deleting {new_name}")
            await api.delete(RC, new_name, ns)
            typer.echo(f'replicationcontroller "{old["metadata"]["name"]}" rolled back')
            return 0
        desired = int(old["spec"].get("replicas", 1))
        rename = False
        if new_file is not None:
            target = ru.fresh(new_file)
            target["metadata"]["namespace"] = ns
            if target["metadata"].get("name") == old["metadata"]["name"]:
                raise BadRequest(
                    f"{target['metadata']['name']} cannot have the same name as the existing "
                    "ReplicationController"
                )
            if not ru.selector_differs(old, target):
                raise BadRequest(
                    "The ReplicationController "
                    f"{old['metadata']['name']} is a selector overlap with {target['metadata']['name']}: "
                    "the new controller must have a selector that does not match the old one's pods"
                )
            desired = int(target["spec"].get("replicas", desired))
        else:
            old = await key_old(api, ns, old)
            target = ru.fresh(ru.new_from_image(old, image, container))
            rename = True
        name = target["metadata"]["name"]
        try:
            new = await api.get(RC, name, ns)
            typer.echo(f"Continuing update with existing controller {name}.")
        except NotFound:
            target["spec"]["replicas"] = 0
            annotations = target["metadata"].setdefault("annotations", {})
            annotations[ru.DESIRED] = str(desired)
            annotations[ru.SOURCE] = f"{old['metadata']['name']}:{old['metadata'].get('uid')}"
            new = await api.create(RC, target, ns)
            typer.echo(f"Created {name}")
        old = await annotate(
            api, ns, old, {ru.ORIGINAL: str(old["spec"].get("replicas", 1)), ru.PARTNER: name}
        )
        await roll(api, ns, from_rc=old, to_rc=new, desired=desired, period=period, poll=poll, limit=limit)
        old_name = old["metadata"]["name"]
        typer.echo(f"Update succeeded. Deleting {old_name}")
        await api.delete(RC, old_name, ns)  # at 0 replicas: nothing of its own left to cascade to
        if rename:
            await rename_rc(api, ns, name, old_name)
            typer.echo(f'replicationcontroller "{old_name}" rolling updated')
        else:
            typer.echo(f'replicationcontroller "{old_name}" rolling updated to "{name}"')
        return 0

    run(opts, work)


async def update_rc(api: Any, ns: str, name: str, change: Any) -> dict[str, Any]:
    """Compare-and-set ``change(rc)`` on the RC, re-reading after a conflict (the RC manager writes
    its status concurrently)."""
    while True:
        rc = await api.get(RC, name, ns)
        body = change(rc)
        try:
            return dict(await api.update(RC, body, ns))
        except Conflict:
            continue


async def annotate(api: Any, ns: str, rc: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """Add the annotations that are not there yet (a continued update keeps the first ones)."""

    def change(current: dict[str, Any]) -> dict[str, Any]:
        annotations = current["metadata"].get("annotations") or {}
        return {**current, "metadata": {**current["metadata"], "annotations": {**values, **annotations}}}

    return await update_rc(api, ns, rc["metadata"]["name"], change)


async def key_old(api: Any, ns: str, old: dict[str, Any]) -> dict[str, Any]:
    """Give the old RC and its pods ``deployment=<hash>`` so the new RC's pods are not its own."""
    if ru.KEY in (old["spec"].get("selector") or {}):
        return old
    digest = ru.template_hash(old)
    selector = selector_from_map(old["spec"].get("selector") or {})
    for pod in (await api.list("pods", ns))["items"]:
        if selector.matches(pod["metadata"].get("labels") or {}):
            await api.patch(
                "pods", pod["metadata"]["name"], {"metadata": {"labels": {ru.KEY: digest}}}, "merge", ns
            )
    return await update_rc(api, ns, old["metadata"]["name"], lambda rc: ru.with_key(rc, digest))


async def rename_rc(api: Any, ns: str, name: str, to: str) -> None:
    """The new RC under the old name: delete it orphaning its pods, re-create it, which adopts them."""
    typer.echo(f"Renaming {name} to {to}")
    rc = await api.get(RC, name, ns)
    await api.delete(RC, name, ns, propagation_policy="Orphan")
    for current in (to, name):  # the old name free, the new RC gone (the collector orphans its pods)
        deadline = time.monotonic() + 60
        while True:
            try:
                await api.get(RC, current, ns)
            except NotFound:
                break
            if time.monotonic() > deadline:
                raise Timeout(f"timed out waiting for replicationcontrollers/{current} to be deleted")
            await asyncio.sleep(0.1)
    body = ru.fresh(rc)
    body["metadata"]["name"] = to
    body["metadata"].get("annotations", {}).pop(ru.SOURCE, None)
    await api.create(RC, body, ns)


async def ready_pods(api: Any, ns: str, rc: dict[str, Any]) -> int:
    selector = selector_from_map(rc["spec"].get("selector") or {})
    count = 0
    for pod in (await api.list("pods", ns))["items"]:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp") or not selector.matches(meta.get("labels") or {}):
            continue
        conds = (pod.get("status") or {}).get("conditions") or []
        count += any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
    return count


async def scale_to(api: Any, ns: str, name: str, replicas: int) -> None:
    await update_rc(api, ns, name, lambda rc: {**rc, "spec": {**rc["spec"], "replicas": replicas}})


async def roll(
    api: Any,
    ns: str,
    *,
    from_rc: dict[str, Any],
    to_rc: dict[str, Any],
    desired: int,
    period: float,
    poll: float,
    limit: float,
) -> None:
    old_name, new_name = from_rc["metadata"]["name"], to_rc["metadata"]["name"]
    old_n = int(from_rc["spec"].get("replicas", 0))
    new_n = int(to_rc["spec"].get("replicas", 0))
    typer.echo(
        f"Scaling up {new_name} from {new_n} to {desired}, scaling down {old_name} from {old_n} to 0 "
        f"(keep {desired} pods available, don't exceed {desired + 1} pods)"
    )
    deadline = time.monotonic() + limit
    with StatusLine() as status:
        await _roll(api, ns, old_name, new_name, desired, period, poll, limit, deadline, status)


async def _roll(
    api: Any,
    ns: str,
    old_name: str,
    new_name: str,
    desired: int,
    period: float,
    poll: float,
    limit: float,
    deadline: float,
    status: StatusLine,
) -> None:
    while True:
        old_rc, new_rc = await api.get(RC, old_name, ns), await api.get(RC, new_name, ns)
        counts = ru.Counts(
            int(old_rc["spec"].get("replicas", 0)),
            int(new_rc["spec"].get("replicas", 0)),
            await ready_pods(api, ns, old_rc),
            await ready_pods(api, ns, new_rc),
        )
        step = ru.next_step(counts, desired)
        if step.action == "done":
            return
        if step.action == "wait":
            if time.monotonic() > deadline:
                status.clear()
                raise Timeout(f"timed out waiting for any update progress to be made on {new_name}")
            status.show(
                f"waiting for pods: {new_name} {counts.new_ready}/{counts.new} ready,"
                f" {old_name} {counts.old_ready}/{counts.old} ready"
            )
            await asyncio.sleep(poll)
            continue
        which = new_name if step.action == "up" else old_name
        status.restart()
        typer.echo(f"Scaling {which} {step.action} to {step.replicas}")
        await scale_to(api, ns, which, step.replicas)
        deadline = time.monotonic() + limit
        await asyncio.sleep(period)


def register(app: typer.Typer) -> None:
    app.command("rolling-update")(rolling_update)
