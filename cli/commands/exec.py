"""``jetkube exec (POD | TYPE/NAME) [-c C] -- COMMAND [args...]``.

Asks the pod's node on ``jetkube.node.<node>.exec``, prints what the command wrote (stdout and
stderr together, in the order the engine delivered them) and exits with the command's exit code,
printing kubectl's ``command terminated with exit code N`` on stderr when it is not 0.
``-i`` streams this process's stdin to the command (its end closes the command's stdin) and ``-t``
gives it a terminal of this one's size (cli/interactive.py): both open an interactive session with
the kubelet, whose output comes as it is written, stdout and stderr apart.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from cli.commands.logs import container_of, pod_request, resolve_pod
from cli.context import NamespaceOpt, ServerOpt, fail, run, settings
from schemas.errors import BadRequest


def exec_(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="POD -- COMMAND [args...]")],
    container: Annotated[str | None, typer.Option("--container", "-c", help="The container")] = None,
    stdin: Annotated[bool, typer.Option("--stdin", "-i", help="Pass stdin to the container")] = False,
    tty: Annotated[bool, typer.Option("--tty", "-t", help="Stdin is a TTY")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds the command may run (not with -i/-t)")
    ] = 300.0,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Execute a command in a container."""
    opts = settings(ctx, server, namespace)
    if len(args) < 2:
        fail(BadRequest("you must specify at least one command for the container"))
    target, command = args[0], list(args[1:])

    async def work(api: Any) -> int:
        from actors.kubelet.server_client import node_exec

        pod = await resolve_pod(api, target, opts.namespace)
        name = container_of(pod, container)
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise BadRequest(f"cannot exec into a container in a completed pod; current phase is {phase}")
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            err = BadRequest(f"pod {pod['metadata']['name']} does not have a host assigned")
            err.from_server = True
            raise err
        if stdin or tty:
            from cli.interactive import run_session

            payload = {**pod_request(pod, name), "command": command}
            code = await run_session(api.bus, node, "exec", payload, stdin=stdin, tty=tty)
        else:
            reply = await node_exec(
                api.bus, node, {**pod_request(pod, name), "command": command, "timeout": timeout}
            )
            sys.stdout.write(str(reply.get("output") or ""))
            sys.stdout.flush()
            code = int(reply.get("exitCode") or 0)
        if code:
            typer.echo(f"command terminated with exit code {code}", err=True)
        return code

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("exec")(exec_)
