"""``pods/exec`` and ``pods/attach`` over WebSocket, as kubectl 1.30+ asks for them first
(``v5.channel.k8s.io``, or ``v4.channel.k8s.io``).

Each binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the error channel
(the final Status), 4 terminal resize (JSON ``{"Width", "Height"}``); v5 adds 255, a channel's
close (``[255, 0]``: the end of stdin). The gateway opens an interactive session with the pod's
kubelet over NATS (actors/kubelet/session_protocol.py) and bridges the two: the client's stdin,
its close and its resizes go to the kubelet in order; the process's output comes back on stdout
and stderr (one stream with a tty) as it is written; at the end the error channel carries the
Status kubectl turns into its exit code (``NonZeroExitCode`` with the code as the ``ExitCode``
cause; Success for an attach whose container ended), and the gateway closes the WebSocket. A
client that goes ends the session (the exec's process goes on with its stdin closed, as with
Kubernetes). The query names the streams: ``stdin``, ``stdout``, ``stderr``, ``tty``
(``true``/``1``; absent is false), ``container``, and for exec each word of ``command``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from actors.gateway.paths import Target
from actors.gateway.wire import require_pod_right
from actors.kubelet.server_select import check_container
from actors.kubelet.session_client import Session, open_session
from actors.kubelet.session_protocol import terminal_size
from bus.client import ApiClient
from bus.connection import Bus
from schemas.errors import BadRequest, JetkubeError

log = structlog.get_logger(__name__)

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
V5 = "v5.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SUCCESS: dict[str, Any] = {"metadata": {}, "status": "Success"}


def exit_status(command: list[str], code: int) -> dict[str, Any]:
    """The error channel's Status for an exit code (what kubectl reads its exit code from)."""
    if code == 0:
        return dict(SUCCESS)
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            f"command terminated with non-zero exit code: error executing command {command}, exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


# ---------------------------------------------------------------------------------- framing


@dataclass(frozen=True)
class Stdin:
    data: bytes


@dataclass(frozen=True)
class CloseStdin:
    pass


@dataclass(frozen=True)
class Resize:
    width: int
    height: int


@dataclass(frozen=True)
class Ignored:
    why: str


ClientFrame = Stdin | CloseStdin | Resize | Ignored


def client_frame(data: bytes, *, v5: bool) -> ClientFrame:
    """What one binary message from the client means (no I/O)."""
    if not data:
        return Ignored("an empty message")
    channel, body = data[0], data[1:]
    if channel == STDIN:
        return Stdin(bytes(body)) if body else Ignored("empty stdin")
    if channel == RESIZE:
        try:
            width, height = terminal_size(json.loads(body))
        except (ValueError, BadRequest) as err:
            return Ignored(f"a malformed resize: {err}")
        return Resize(width, height)
    if channel == CLOSE and v5:
        if body[:1] == bytes([STDIN]):
            return CloseStdin()
        return Ignored(f"the close of channel {body[:1].hex() or 'none'}")
    return Ignored(f"a message on channel {channel}")


def query_flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


# ---------------------------------------------------------------------------------- handlers


@dataclass(frozen=True)
class PodStream:
    """What exec and attach both need: the kubelet's node, and the session request's head."""

    node: str
    payload: dict[str, Any]


async def _open_pod_stream(
    request: web.Request, api: ApiClient, target: Target, subresource: str
) -> PodStream:
    """The checks both exec and attach make before the upgrade (their errors are HTTP answers):
    RBAC ``create pods/<subresource>``, the pod, its container, a running phase, a node."""
    ns = target.namespace or "default"
    await require_pod_right(api, "create", f"pods/{subresource}", ns, target.name)
    pod = await api.get("pods", str(target.name), ns)
    container = check_container(pod, request.query.get("container") or None)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        what = "exec into" if subresource == "exec" else "attach"
        raise BadRequest(f"cannot {what} a container in a completed pod; current phase is {phase}")
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise BadRequest(f"pod {target.name} does not have a host assigned")
    require_websocket(request, f"pods/{subresource}")
    meta = pod.get("metadata") or {}
    tty = query_flag(request, "tty")
    payload = {
        "namespace": ns,
        "pod": meta.get("name"),
        "uid": (meta.get("annotations") or {}).get(MIRROR_ANNOTATION) or meta.get("uid"),
        "container": container,
        "stdin": query_flag(request, "stdin"),
        "stdout": query_flag(request, "stdout"),
        "stderr": query_flag(request, "stderr") and not tty,
        "tty": tty,
    }
    return PodStream(str(node), payload)


def require_websocket(request: web.Request, resource: str) -> None:
    """After authorization, as Kubernetes: kubectl (1.30+) falls back to SPDY when the WebSocket
    upgrade is refused, and a user without the right must see the 403, not this."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise BadRequest(f"{resource} is served over WebSocket (v5.channel.k8s.io) only; SPDY is not")


async def exec_websocket(
    request: web.Request, bus: Bus, api: ApiClient, target: Target
) -> web.StreamResponse:
    command = request.query.getall("command", [])
    if not command:
        raise BadRequest("you must specify at least one command for the container")
    stream = await _open_pod_stream(request, api, target, "exec")
    return await _serve(request, bus, stream.node, "exec", {**stream.payload, "command": command}, command)


async def attach_websocket(
    request: web.Request, bus: Bus, api: ApiClient, target: Target
) -> web.StreamResponse:
    """``pods/attach`` (``kubectl attach``): the container's output from now on, and with ``-i``
    its main process's stdin (the pod's container must have ``stdin: true``)."""
    stream = await _open_pod_stream(request, api, target, "attach")
    return await _serve(request, bus, stream.node, "attach", stream.payload, None)


async def _serve(
    request: web.Request,
    bus: Bus,
    node: str,
    verb: str,
    payload: dict[str, Any],
    command: list[str] | None,
) -> web.StreamResponse:
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)
    try:
        async with open_session(bus, node, verb, payload) as session:
            status = await _bridge(ws, session, command, v5=ws.ws_protocol == V5)
    except JetkubeError as err:
        status = err.to_status()
    if status is not None and not ws.closed:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_bytes(bytes([ERROR]) + json.dumps(status).encode())
    await ws.close()
    return ws


async def _bridge(
    ws: web.WebSocketResponse, session: Session, command: list[str] | None, *, v5: bool
) -> dict[str, Any] | None:
    """Relay until the process ends (its Status) or the client goes (None)."""

    async def client_input() -> None:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY:
                continue
            frame = client_frame(msg.data, v5=v5)
            if isinstance(frame, Stdin):
                await session.write(frame.data)
            elif isinstance(frame, CloseStdin):
                await session.close_stdin()
            elif isinstance(frame, Resize):
                await session.resize(frame.width, frame.height)
            else:
                log.debug("exec.ignored_message", why=frame.why)

    async def process_output() -> dict[str, Any]:
        async for fd, data in session.output():
            await ws.send_bytes(bytes([fd]) + data)
        if command is None:
            return dict(SUCCESS)
        return exit_status(command, session.exit_code or 0)

    reader = asyncio.ensure_future(client_input())
    writer = asyncio.ensure_future(process_output())
    try:
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        if writer.done():
            try:
                return writer.result()  # the kubelet's error is raised here
            except ConnectionError:  # the client went while its output was being written
                return None
        failure = reader.exception()
        if failure is not None and not isinstance(failure, ConnectionError):
            raise failure  # the session was lost under the client's input
        return None  # the client closed the WebSocket
    finally:
        for task in (reader, writer):
            task.cancel()
        await asyncio.gather(reader, writer, return_exceptions=True)
