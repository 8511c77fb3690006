"""``jetkube attach (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t]``: the running process's output from
now on, until it ends or the user interrupts.

``-i`` sends this process's stdin to the container's main process (the container must have
``stdin: true``; with ``stdinOnce`` the end of the input closes its stdin), ``-t`` with a terminal
(the container must have ``tty: true``); both through an interactive session with the kubelet
(cli/interactive.py), as ``kubectl attach -it``.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from cli.commands.logs import container_of, pod_request, resolve_pod
from cli.context import NamespaceOpt, ServerOpt, run, settings
from schemas.errors import BadRequest


def attach(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="POD or TYPE/NAME")],
    container: Annotated[str | None, typer.Option("--container", "-c", help="The container")] = None,
    stdin: Annotated[bool, typer.Option("--stdin", "-i", help="Pass stdin to the container")] = False,
    tty: Annotated[bool, typer.Option("--tty", "-t", help="Stdin is a TTY")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the container's output")] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Attach to a running container: print its output as it comes."""
    opts = settings(ctx, server, namespace)

    async def work(api: Any) -> int:
        from actors.kubelet.server_client import node_logs

        pod = await resolve_pod(api, target, opts.namespace)
        name = container_of(pod, container)
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise BadRequest(f"cannot attach a container in a completed pod; current phase is {phase}")
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or phase != "Running":
            raise BadRequest(f"pod {pod['metadata']['name']} is not running yet (phase {phase or 'Pending'})")
        if stdin or tty:
            from cli.interactive import run_session

            spec = next((c for c in pod["spec"]["containers"] if c.get("name") == name), {})
            if stdin and not spec.get("stdin"):
                pod_name = pod["metadata"]["name"]
                raise BadRequest(
                    f"cannot attach -i: container {name} of pod {pod_name} has no stdin "
                    "(spec.containers[].stdin must be true)"
                )
            use_tty = tty and bool(spec.get("tty"))
            if tty and not use_tty:
                typer.echo(f"Unable to use a TTY - container {name} did not allocate one", err=True)
            request = pod_request(pod, name)
            return await run_session(api.bus, node, "attach", request, stdin=stdin, tty=use_tty)
        payload = {
            **pod_request(pod, name),
            "tail": 0,
            "follow": True,
            "previous": False,
            "timestamps": False,
        }

        def write(lines: list[str]) -> None:
            sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()

        await node_logs(api.bus, node, payload, write)
        return 0

    _ = quiet
    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("attach")(attach)
