"""``jetkube port-forward TYPE/NAME [LOCAL:]REMOTE [...] [--address 127.0.0.1]``.

As kubectl: ``pod/x`` (or a bare name), ``svc/x``, ``deploy/x``, ``rs/x``, ``rc/x``, ``job/x``
... pick one running pod (for a controller or a Service, the first pod its selector matches by
kubectl's preference). For a Service, REMOTE is a Service port (number or name), mapped to the
pod's port through ``targetPort``; for the other kinds REMOTE is the pod's port, a number or a
container port's name. ``LOCAL`` omitted is REMOTE's number; ``:REMOTE`` or ``0:REMOTE`` picks a
free local port.

It listens on each ``--address`` (comma-separated; ``localhost`` is 127.0.0.1) and prints
``Forwarding from 127.0.0.1:LOCAL -> REMOTE``; each accepted connection (``Handling connection
for LOCAL``) is relayed through the pod's kubelet over NATS (actors/kubelet/portforward.py). A
failed connection prints one error line and the others go on. Ctrl-C stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from cli.commands.logs import pod_request, resolve_pod
from cli.context import NamespaceOpt, ServerOpt, run, settings
from cli.resources import lookup
from schemas.errors import BadRequest, JetkubeError


@dataclass(frozen=True)
class PortSpec:
    local: int  # 0: any free port
    remote: int | str  # a number, or a port name to resolve
    text: str


def parse_port_spec(text: str) -> PortSpec:
    """``8080:80``, ``80``, ``:80``, ``0:80``, ``8080:http``."""
    local_text, sep, remote_text = text.rpartition(":")
    if not sep:
        local_text, remote_text = "", text
    if not remote_text:
        raise BadRequest(f"Error parsing remote port '{text}': the remote port is missing")
    remote: int | str = int(remote_text) if remote_text.isdigit() else remote_text
    if isinstance(remote, int) and not 1 <= remote <= 65535:
        raise BadRequest(f"Error parsing remote port '{remote_text}': must be between 1 and 65535, inclusive")
    if local_text and not local_text.isdigit():
        raise BadRequest(f"Error parsing local port '{local_text}': must be a number")
    if local_text:
        local = int(local_text)
    else:  # ":80" picks a free port; "80" listens on 80
        local = 0 if sep or not isinstance(remote, int) else remote
    if not 0 <= local <= 65535:
        raise BadRequest(f"Error parsing local port '{local_text}': must be between 0 and 65535, inclusive")
    if not sep and isinstance(remote, str):
        raise BadRequest(
            f"Error parsing port '{text}': a named remote port needs a local port (8080:{remote})"
        )
    return PortSpec(local, remote, text)


def container_port(pod: dict[str, Any], name: str) -> int:
    for container in (pod.get("spec") or {}).get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("name") == name:
                return int(port["containerPort"])
    raise BadRequest(f"Pod '{pod['metadata']['name']}' does not have a named port '{name}'")


def service_target(service: dict[str, Any], pod: dict[str, Any], remote: int | str) -> int:
    """The pod port behind Service port ``remote`` (kubectl's translateServicePortToTargetPort)."""
    name = service["metadata"]["name"]
    for port in (service.get("spec") or {}).get("ports") or ():
        if port.get("port") == remote or (isinstance(remote, str) and port.get("name") == remote):
            target = port.get("targetPort")
            if target is None:
                return int(port["port"])
            return container_port(pod, target) if isinstance(target, str) else int(target)
    raise BadRequest(f"Service {name} does not have a service port {remote}")


def pod_target(pod: dict[str, Any], remote: int | str) -> int:
    return container_port(pod, remote) if isinstance(remote, str) else remote


def addresses(text: str) -> list[str]:
    out = []
    for part in (p.strip() for p in text.split(",")):
        if part == "localhost":
            part = "127.0.0.1"
        if part and part not in out:
            out.append(part)
    return out or ["127.0.0.1"]


async def forward(api: Any, target: str, namespace: str, specs: list[PortSpec], bind: list[str]) -> int:
    from actors.kubelet.portforward import forward_connection

    pod = await resolve_pod(api, target, namespace)
    kind, sep, name = target.partition("/")
    service = None
    if sep and lookup(kind).plural == "services":
        service = await api.get("services", name, namespace)
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Running":
        raise BadRequest(f"unable to forward port because pod is not running. Current status={phase}")
    node = (pod.get("spec") or {}).get("nodeName")
    request = {k: v for k, v in pod_request(pod, "").items() if k != "container"}
    targets = [
        service_target(service, pod, s.remote) if service else pod_target(pod, s.remote) for s in specs
    ]

    def handler(local: list[int], remote: int) -> Any:
        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            typer.echo(f"Handling connection for {local[0]}")
            try:
                await forward_connection(api.bus, str(node), {**request, "port": remote}, reader, writer)
            except JetkubeError as err:
                typer.echo(
                    f"error: an error occurred forwarding {local[0]} -> {remote}: {err.message}", err=True
                )
            except asyncio.CancelledError:  # Ctrl-C with the connection open: it ends here, quietly
                writer.close()

        return on_connection

    servers: list[asyncio.Server] = []
    try:
        for spec, remote in zip(specs, targets, strict=True):
            local = [spec.local]  # 0 until the first address picks a free port, then that one
            for address in bind:
                try:
                    server = await asyncio.start_server(handler(local, remote), address, local[0])
                except OSError as err:
                    raise BadRequest(
                        f"unable to listen on port {local[0]}: {address}: {err.strerror}"
                    ) from None
                servers.append(server)
                local[0] = local[0] or int(server.sockets[0].getsockname()[1])
                shown = f"[{address}]" if ":" in address else address
                typer.echo(f"Forwarding from {shown}:{local[0]} -> {remote}")
        sys.stdout.flush()
        await asyncio.gather(*(s.serve_forever() for s in servers))
    finally:
        for server in servers:
            server.close()
        for server in servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
    return 0


def port_forward(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="TYPE/NAME [LOCAL:]REMOTE [...]")],
    address: Annotated[
        str, typer.Option("--address", help="Addresses to listen on (comma-separated): localhost, 0.0.0.0")
    ] = "localhost",
    namespace: NamespaceOpt = None,
    server: ServerOpt = None,
) -> None:
    """Forward one or more local ports to a pod."""
    from cli.context import fail

    opts = settings(ctx, server, namespace)
    if len(args) < 2:
        fail(BadRequest("TYPE/NAME and list of ports are required for port-forward"))
    try:
        specs = [parse_port_spec(a) for a in args[1:]]
    except JetkubeError as err:
        fail(err)
    bind = addresses(address)

    async def work(api: Any) -> int:
        return await forward(api, args[0], opts.namespace, specs, bind)

    run(opts, work)


def register(app: typer.Typer) -> None:
    app.command("port-forward")(port_forward)
