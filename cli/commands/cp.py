"""``jetkube cp POD:PATH LOCAL`` and ``jetkube cp LOCAL POD:PATH`` (``-c CONTAINER``): files and
directories, binary included, as tar over exec (cli/copying.py). As kubectl: the container needs
``tar`` (and here ``base64``, which busybox has); the destination takes the source's contents;
nothing is printed on success.
"""

from __future__ import annotations

import uuid
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer

from cli import copying
from cli.commands.logs import container_of, pod_request, resolve_pod
from cli.context import NamespaceOpt, ServerOpt, fail, run, settings
from schemas.errors import BadRequest, JetkubeError


def cp(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="POD:PATH or a local path")],
    dest: Annotated[str, typer.Argument(help="a local path or POD:PATH")],
    container: Annotated[str | None, typer.Option("--container", "-c", help="The container")] = None,
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Copy files and directories to and from containers."""
    opts = settings(ctx, server, namespace)
    try:
        remote_src, remote_dest = copying.split_remote(source), copying.split_remote(dest)
        if bool(remote_src) == bool(remote_dest):
            raise BadRequest("one of src or dest must be a local file specification, the other POD:PATH")
    except JetkubeError as err:
        fail(err)

    async def exec_in(api: Any, pod: dict[str, Any], name: str, command: list[str]) -> str:
        from actors.kubelet.server_client import node_exec

        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            raise BadRequest(f"pod {pod['metadata']['name']} does not have a host assigned")
        reply = await node_exec(
            api.bus, node, {**pod_request(pod, name), "command": command, "timeout": 120.0}
        )
        output = str(reply.get("output") or "")
        if int(reply.get("exitCode") or 0):
            raise BadRequest(output.strip() or f"command terminated with exit code {reply.get('exitCode')}")
        return output

    async def work(api: Any) -> int:
        if remote_src:
            pod_name, path = remote_src
            pod = await resolve_pod(api, pod_name, opts.namespace)
            name = container_of(pod, container)
            text = await exec_in(api, pod, name, copying.read_command(path))
            copying.unpack(copying.decode_output(text), PurePosixPath(path).name, Path(dest))
            return 0
        assert remote_dest is not None
        pod_name, path = remote_dest
        pod = await resolve_pod(api, pod_name, opts.namespace)
        name = container_of(pod, container)
        data = copying.pack(Path(source), PurePosixPath(path).name)
        scratch = f"/tmp/.jetkube-cp-{uuid.uuid4().hex[:8]}"
        for command in copying.write_commands(data, path, scratch):
            await exec_in(api, pod, name, command)
        return 0

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("cp")(cp)
