"""``jetkube attach (POD | TYPE/NAME) [-c CONTAINER]``: the running process's output from now on,
until it ends or the user interrupts (kubectl's attach without ``-i``).

The kubelet keeps no stdin open for containers, so ``-i``/``-t`` are refused with a line that says
so rather than accepted and ignored; ``exec`` runs a new command instead.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from cli.commands.logs import container_of, pod_request, resolve_pod
from cli.context import NamespaceOpt, ServerOpt, fail, run, settings
from schemas.errors import BadRequest


def attach(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="POD or TYPE/NAME")],
    container: Annotated[str | None, typer.Option("--container", "-c", help="The container")] = None,
    stdin: Annotated[bool, typer.Option("--stdin", "-i", help="Not supported: refused")] = False,
    tty: Annotated[bool, typer.Option("--tty", "-t", help="Not supported: refused")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the container's output")] = False,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Attach to a running container: print its output as it comes."""
    opts = settings(ctx, server, namespace)
    if stdin or tty:
        fail(BadRequest("attach -i/-t is not supported: jetkube's kubelet keeps no stdin for containers"))

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
