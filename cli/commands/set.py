"""``jetkube set image (TYPE NAME | TYPE/NAME)... CONTAINER=IMAGE...``, as kubectl does it.

Pods, ReplicationControllers, ReplicaSets, Deployments, DaemonSets, Jobs and CronJobs. ``*`` as the
container name sets every container. Init containers are matched by name too. The change is a
strategic merge patch of the containers list (keyed by name) under the resource's pod template,
carrying the resourceVersion read, so a concurrent writer makes it a Conflict rather than lost.
An object whose images already match is left alone and not printed, as kubectl does.

:func:`image_patch` is the pure part: object and ``{container: image}`` in, patch (or None) out.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.commands.common import Errors, said
from cli.context import NamespaceOpt, SelectorOpt, ServerOpt, fail, run, settings
from cli.resources import parse_targets
from schemas.errors import BadRequest, JetkubeError

# where each kind keeps its pod spec
POD_SPEC_PATH: dict[str, tuple[str, ...]] = {
    "pods": ("spec",),
    "replicationcontrollers": ("spec", "template", "spec"),
    "replicasets": ("spec", "template", "spec"),
    "deployments": ("spec", "template", "spec"),
    "daemonsets": ("spec", "template", "spec"),
    "jobs": ("spec", "template", "spec"),
    "cronjobs": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def split_args(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Resource arguments, then ``CONTAINER=IMAGE`` pairs (kubectl's order)."""
    resources = [a for a in args if "=" not in a]
    images: dict[str, str] = {}
    for arg in (a for a in args if "=" in a):
        container, _, image = arg.partition("=")
        if not container or not image:
            raise BadRequest(f"invalid image update {arg!r}: expected CONTAINER=IMAGE")
        images[container] = image
    if not images:
        raise BadRequest("at least one image update is required")
    return resources, images


def _pod_spec(plural: str, obj: dict[str, Any]) -> dict[str, Any]:
    node: Any = obj
    for key in POD_SPEC_PATH[plural]:
        node = (node or {}).get(key) or {}
    return node


def _nest(path: tuple[str, ...], leaf: dict[str, Any]) -> dict[str, Any]:
    out = leaf
    for key in reversed(path):
        out = {key: out}
    return out


def image_patch(plural: str, obj: dict[str, Any], images: dict[str, str]) -> dict[str, Any] | None:
    """The strategic merge patch that sets ``images``; None when nothing would change.

    Raises BadRequest naming a container the object does not have.
    """
    spec = _pod_spec(plural, obj)
    lists = {"containers": spec.get("containers") or [], "initContainers": spec.get("initContainers") or []}
    changes: dict[str, list[dict[str, str]]] = {}
    for container, image in images.items():
        found = False
        for field, items in lists.items():
            for c in items:
                if container in ("*", c.get("name")):
                    found = True
                    if c.get("image") != image:
                        changes.setdefault(field, []).append({"name": c["name"], "image": image})
        if not found:
            raise BadRequest(f'unable to find container named "{container}"')
    if not changes:
        return None
    return _nest(POD_SPEC_PATH[plural], changes)


def image(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="(TYPE NAME | TYPE/NAME)... CONTAINER=IMAGE...")],
    selector: SelectorOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Every object of the type")] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Update the image of a pod template's containers (deploy, ds, rc, rs, job, cronjob, pod)."""
    opts = settings(ctx, server, namespace)
    try:
        resources, images = split_args(args)
        targets = parse_targets(resources, allow_all=False)
        for t in targets:
            if t.info.plural not in POD_SPEC_PATH:
                raise BadRequest(f"cannot set the image of {t.info.plural}")
            if not t.names and not (selector or all_):
                raise BadRequest("resource(s) were provided, but no name was specified")
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        errors = Errors()
        for target in targets:
            info, ns = target.info, opts.namespace
            names = list(target.names)
            if not names:
                listing = await api.list(info.plural, ns, label_selector=selector)
                names = [o["metadata"]["name"] for o in listing["items"]]
            for name in names:
                try:
                    obj = await api.get(info.plural, name, ns)
                    body = image_patch(info.plural, obj, images)
                    if body is None:
                        continue
                    body["metadata"] = {"resourceVersion": obj["metadata"].get("resourceVersion")}
                    await api.patch(info.plural, name, body, "strategic", ns)
                    said(info, name, "image updated")
                except JetkubeError as err:
                    errors.report(err)
        return errors.code

    run(opts, work)


def register(app: typer.Typer) -> None:
    set_app = typer.Typer(
        name="set", help="Set specific features on objects.", no_args_is_help=True, rich_markup_mode=None
    )
    set_app.command("image")(image)
    app.add_typer(set_app, name="set")
