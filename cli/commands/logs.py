"""``jetkube logs [-f] [-p] [-c C | --all-containers] [--tail N] [--since D] [--timestamps] [--prefix]
(POD | TYPE/NAME | -l SELECTOR [-A] [--max-log-requests N])``.

The CLI finds the pod (for ``job/x``, ``deploy/x``, ``rc/x`` ...: the pods the controller's
selector matches, the first by kubectl's preference), checks the container against the pod's spec
and status as the api server and kubelet would, and asks the pod's node on
``jetkube.node.<node>.logs`` (actors/kubelet/server_client.py), printing lines as they come.

Cluster-wide (``-l``): every pod the selector matches, on whichever node it runs, the last 10
lines of each container by default (kubectl's). Without ``-f`` the streams are read one after
another in pod order; with ``-f`` all at once (at most ``--max-log-requests``, 5 by default, else
kubectl's error) and their lines merged as they come; ``--prefix`` marks each line
``[pod/<name>/<container>] ``. The first stream that fails ends the command with its error.
``exec`` shares :func:`resolve_pod` and :func:`pod_request`.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Annotated, Any

import typer

from cli.context import AllNamespacesOpt, NamespaceOpt, SelectorOpt, ServerOpt, fail, run, settings
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


Stream = tuple[dict[str, Any], str]  # (pod, container)


def log_prefix(pod: dict[str, Any], container: str) -> str:
    """kubectl's ``--prefix``: ``[pod/<name>/<container>] ``."""
    return f"[pod/{(pod.get('metadata') or {}).get('name')}/{container}] "


def effective_tail(tail: int | None, selector: str | None) -> int:
    """kubectl: all lines by default, but the last 10 of each container with a selector."""
    if tail is not None:
        return tail
    return 10 if selector else -1


def streams_of(pods: list[dict[str, Any]], container: str | None, all_containers: bool) -> list[Stream]:
    """The (pod, container) pairs to read: every container (init ones first) with
    ``--all-containers``, else ``-c`` or each pod's default container."""
    from actors.kubelet.server_select import container_names

    out: list[Stream] = []
    for pod in pods:
        if all_containers:
            spec = pod.get("spec") or {}
            inits = [str(c.get("name")) for c in spec.get("initContainers") or []]
            out += [(pod, n) for n in inits + container_names(pod, init=False)]
        else:
            out.append((pod, container_of(pod, container)))
    return out


async def select_pods(api: Any, selector: str, namespace: str | None) -> list[dict[str, Any]]:
    """The pods a label selector matches (``namespace`` None: every namespace), by namespace and name."""
    listing = await api.list("pods", namespace, label_selector=selector)
    pods = [p for p in listing.get("items") or [] if not (p.get("metadata") or {}).get("deletionTimestamp")]
    return sorted(pods, key=lambda p: (p["metadata"].get("namespace") or "", p["metadata"]["name"]))


def check_follow_limit(count: int, follow: bool, max_log_requests: int) -> None:
    if follow and count > max_log_requests:
        raise BadRequest(
            f"you are attempting to follow {count} log streams, but maximum allowed concurrency is "
            f"{max_log_requests}, use --max-log-requests to increase the limit"
        )


def logs(
    ctx: typer.Context,
    target: Annotated[
        str | None, typer.Argument(help="POD, or TYPE/NAME (job/x, deploy/x, rc/x); or use -l")
    ] = None,
    container: Annotated[str | None, typer.Option("--container", "-c", help="The container")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream the logs")] = False,
    previous: Annotated[
        bool, typer.Option("--previous", "-p", help="The previous terminated container's logs")
    ] = False,
    tail: Annotated[
        int | None,
        typer.Option("--tail", help="Lines of recent log to show; -1 shows all (default: all, 10 with -l)"),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only logs newer than a duration: 5s, 2m, 3h")
    ] = None,
    timestamps: Annotated[bool, typer.Option("--timestamps", help="Prefix each line with its time")] = False,
    selector: SelectorOpt = None,
    all_containers: Annotated[
        bool, typer.Option("--all-containers", help="Every container of the pod(s)")
    ] = False,
    prefix: Annotated[
        bool, typer.Option("--prefix", help="Prefix each line with [pod/<name>/<container>]")
    ] = False,
    max_log_requests: Annotated[
        int, typer.Option("--max-log-requests", help="Most concurrent log streams with -l and -f")
    ] = 5,
    all_namespaces: AllNamespacesOpt = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Print the logs of a container in a pod, or of every pod a selector matches (-l)."""
    opts = settings(ctx, server, namespace)
    try:
        since_seconds = parse_duration(since) if since is not None else None
        if target and selector:
            raise BadRequest("only a selector (-l) or a POD name is allowed")
        if not target and not selector:
            raise BadRequest("expected 'logs [-f] [-p] (POD | TYPE/NAME | -l SELECTOR) [-c CONTAINER]'")
        if container and all_containers:
            raise BadRequest("--container and --all-containers cannot be used together")
    except JetkubeError as err:
        fail(err)
    lines_tail = effective_tail(tail, selector)

    async def read(api: Any, pod: dict[str, Any], name: str) -> None:
        from actors.kubelet.server_client import node_logs
        from actors.kubelet.server_select import logs_precheck

        problem = logs_precheck(pod, name, previous=previous)
        if problem is not None:
            problem.from_server = True
            raise problem
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            return  # not scheduled: no logs yet, as the api server answers
        payload = {
            **pod_request(pod, name),
            "tail": lines_tail if lines_tail >= 0 else None,
            "since": since_seconds or None,
            "previous": previous,
            "follow": follow,
            "timestamps": timestamps,
        }
        lead = log_prefix(pod, name) if prefix else ""

        def write(lines: list[str]) -> None:
            sys.stdout.write("".join(lead + line + "\n" for line in lines))
            sys.stdout.flush()

        await node_logs(api.bus, node, payload, write)

    async def work(api: Any) -> int:
        if selector:
            pods = await select_pods(api, selector, None if all_namespaces else opts.namespace)
            if not pods:
                where = "" if all_namespaces else f" in {opts.namespace} namespace"
                typer.echo(f"No resources found{where}.", err=True)
                return 0
        else:
            pods = [await resolve_pod(api, str(target), opts.namespace)]
        streams = streams_of(pods, container, all_containers)
        check_follow_limit(len(streams), follow, max_log_requests)
        if follow and len(streams) > 1:
            await follow_all(api, streams)
        else:
            for pod, name in streams:
                await read(api, pod, name)
        return 0

    async def follow_all(api: Any, streams: list[Stream]) -> None:
        """Every stream at once, lines merged as they come; the first error stops them all."""
        first: list[JetkubeError] = []
        try:
            async with asyncio.TaskGroup() as tg:
                for pod, name in streams:
                    tg.create_task(read(api, pod, name), name=f"logs-{pod['metadata']['name']}-{name}")
        except* JetkubeError as group:
            first = [e for e in group.exceptions if isinstance(e, JetkubeError)]
        if first:
            raise first[0]

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)
