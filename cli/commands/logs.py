"""``jetkube logs [-f] [-p] [-c C] [--tail N] [--since D] [--timestamps] (POD | TYPE/NAME)``.

The CLI finds the pod (for ``job/x``, ``deploy/x``, ``rc/x`` ...: the pods the controller's
selector matches, the first by kubectl's preference), checks the container against the pod's spec
and status as the api server and kubelet would, and asks the pod's node on
``jetkube.node.<node>.logs`` (actors/kubelet/server_client.py), printing lines as they come.
``exec`` shares :func:`resolve_pod` and :func:`pod_request`.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

import typer

from cli.context import NamespaceOpt, ServerOpt, fail, run, settings
from cli.resources import lookup, qualified_kind
from schemas.errors import BadRequest, JetkubeError
from schemas.labels import selector_from_dict, selector_from_map

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration (``5s``, ``2m``, ``1h30m``, ``1.5h``) in seconds."""
    value = text.strip()
    if value in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(value) or pos == 0:
        raise BadRequest(f'invalid argument "{text}" for "--since" flag: time: invalid duration "{text}"')
    return total


def _created(pod: dict[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("creationTimestamp") or "")


def logging_order(pod: dict[str, Any]) -> tuple[Any, ...]:
    """kubectl's ByLogging: on a node, Running < Unknown < Pending, ready, more restarts, older."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase_rank = {"Running": 0, "Unknown": 1, "Pending": 2}.get(str(status.get("phase")), 0)
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    restarts = max(
        (int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or []), default=0
    )
    return (not spec.get("nodeName"), phase_rank, not ready, -restarts, _created(pod) or "~")


def pick_pod(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    return min(pods, key=logging_order) if pods else None


def controller_selector(obj: dict[str, Any]) -> Any:
    """The label selector of a controller's pods (a Job without one: its controller-uid)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Job":
        from actors.job.plan import selector_of

        return selector_from_dict(selector_of(obj))
    selector = spec.get("selector")
    if obj.get("kind") == "ReplicationController" or (
        isinstance(selector, dict)
        and selector
        and "matchLabels" not in selector
        and "matchExpressions" not in selector
    ):
        return selector_from_map(
            selector or ((spec.get("template") or {}).get("metadata") or {}).get("labels")
        )
    return selector_from_dict(selector)


async def resolve_pod(api: Any, target: str, namespace: str) -> dict[str, Any]:
    """The pod ``target`` names: ``NAME``, ``pod/NAME`` or a controller's ``TYPE/NAME``."""
    kind, sep, name = target.partition("/")
    if not sep:
        return dict(await api.get("pods", target, namespace))
    if not kind or not name:
        raise BadRequest(f"arguments in resource/name form must have a single resource and name: {target}")
    info = lookup(kind)
    if info.plural == "pods":
        return dict(await api.get("pods", name, namespace))
    owner = await api.get(info.plural, name, namespace)
    selector = controller_selector(owner)
    listing = await api.list("pods", namespace)
    pods = [
        p
        for p in listing.get("items") or []
        if selector.matches((p.get("metadata") or {}).get("labels") or {})
        and not (p.get("metadata") or {}).get("deletionTimestamp")
    ] or [
        p
        for p in listing.get("items") or []
        if selector.matches((p.get("metadata") or {}).get("labels") or {})
    ]
    pod = pick_pod(pods)
    if pod is None:
        raise BadRequest(f"no pods found for {qualified_kind(info)}/{name}")
    if len(pods) > 1:
        typer.echo(f"Found {len(pods)} pods, using pod/{pod['metadata']['name']}", err=True)
    return pod


def container_of(pod: dict[str, Any], container: str | None) -> str:
    """The container to use; a name the pod lacks is the api server's error, as kubectl shows it."""
    from actors.kubelet.server_select import check_container

    try:
        return check_container(pod, container)
    except BadRequest as err:
        err.from_server = bool(container)
        raise


def pod_request(pod: dict[str, Any], container: str) -> dict[str, Any]:
    """The fields of a node request that name the pod's containers (a mirror pod's containers
    carry the static pod's uid, which its config.mirror annotation holds)."""
    meta = pod.get("metadata") or {}
    uid = (meta.get("annotations") or {}).get(MIRROR_ANNOTATION) or meta.get("uid")
    return {
        "namespace": meta.get("namespace") or "default",
        "pod": meta.get("name"),
        "uid": uid,
        "container": container,
    }


def logs(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="POD, or TYPE/NAME (job/x, deploy/x, rc/x)")],
    container: Annotated[str | None, typer.Option("--container", "-c", help="The container")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream the logs")] = False,
    previous: Annotated[
        bool, typer.Option("--previous", "-p", help="The previous terminated container's logs")
    ] = False,
    tail: Annotated[int, typer.Option("--tail", help="Lines of recent log to show; -1 shows all")] = -1,
    since: Annotated[
        str | None, typer.Option("--since", help="Only logs newer than a duration: 5s, 2m, 3h")
    ] = None,
    timestamps: Annotated[bool, typer.Option("--timestamps", help="Prefix each line with its time")] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Print the logs of a container in a pod."""
    opts = settings(ctx, server, namespace)
    try:
        since_seconds = parse_duration(since) if since is not None else None
    except JetkubeError as err:
        fail(err)

    async def work(api: Any) -> int:
        from actors.kubelet.server_client import node_logs
        from actors.kubelet.server_select import logs_precheck

        pod = await resolve_pod(api, target, opts.namespace)
        name = container_of(pod, container)
        problem = logs_precheck(pod, name, previous=previous)
        if problem is not None:
            problem.from_server = True
            raise problem
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            return 0  # not scheduled: no logs yet, as the api server answers
        payload = {
            **pod_request(pod, name),
            "tail": tail if tail >= 0 else None,
            "since": since_seconds or None,
            "previous": previous,
            "follow": follow,
            "timestamps": timestamps,
        }

        def show(lines: list[str]) -> None:
            sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()

        await node_logs(api.bus, node, payload, show)
        return 0

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)
