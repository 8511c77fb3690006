"""``pods/exec`` over WebSocket, as kubectl 1.30+ asks for it first (``v5.channel.k8s.io``, or
``v4.channel.k8s.io``).

Each binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the error channel
(the final Status), 4 terminal resize; v5 adds 255 (a channel's close). jetkube's kubelets run a
command to its end and return its combined output and exit code (actors/kubelet/server.py), so
the gateway sends the output on stdout, then the Status kubectl turns into its exit code
(``NonZeroExitCode`` with the code as the ``ExitCode`` cause), then closes. There is no stdin and
no terminal, as with ``jetkube exec``; what the client sends is read and dropped.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from actors.gateway.paths import Target
from actors.kubelet.server_client import node_exec
from actors.kubelet.server_select import check_container
from bus.client import ApiClient
from bus.connection import Bus
from schemas.errors import BadRequest, Forbidden, JetkubeError

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDOUT, ERROR = 1, 3
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def exit_status(command: list[str], code: int) -> dict[str, Any]:
    """The error channel's Status for an exit code (what kubectl reads its exit code from)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            f"command terminated with non-zero exit code: error executing command {command}, exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def require_websocket(request: web.Request, resource: str) -> None:
    """After authorization, as Kubernetes: kubectl (1.30+) falls back to SPDY when the WebSocket
    upgrade is refused, and a user without the right must see the 403, not this."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise BadRequest(f"{resource} is served over WebSocket (v5.channel.k8s.io) only; SPDY is not")


async def exec_websocket(
    request: web.Request, bus: Bus, api: ApiClient, target: Target
) -> web.StreamResponse:
    ns = target.namespace or "default"
    command = request.query.getall("command", [])
    if not command:
        raise BadRequest("you must specify at least one command for the container")
    allowed = await api.can_i("create", "pods/exec", ns, target.name)
    if not allowed.get("allowed"):
        raise Forbidden(
            f'pods "{target.name}" is forbidden: User "{api.impersonate}" cannot create resource "pods/exec" '
            f'in API group "" in the namespace "{ns}"'
        )
    pod = await api.get("pods", str(target.name), ns)
    container = check_container(pod, request.query.get("container") or None)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise BadRequest(f"cannot exec into a container in a completed pod; current phase is {phase}")
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise BadRequest(f"pod {target.name} does not have a host assigned")
    require_websocket(request, "pods/exec")
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)
    meta = pod.get("metadata") or {}
    payload = {
        "namespace": ns,
        "pod": meta.get("name"),
        "uid": (meta.get("annotations") or {}).get(MIRROR_ANNOTATION) or meta.get("uid"),
        "container": container,
        "command": command,
    }
    try:
        reply = await node_exec(bus, node, payload)
        output = str(reply.get("output") or "")
        if output:
            await ws.send_bytes(bytes([STDOUT]) + output.encode())
        status = exit_status(command, int(reply.get("exitCode") or 0))
    except JetkubeError as err:
        status = err.to_status()
    await ws.send_bytes(bytes([ERROR]) + json.dumps(status).encode())
    await ws.close()
    return ws


async def attach_websocket(
    request: web.Request, bus: Bus, api: ApiClient, target: Target
) -> web.StreamResponse:
    """``pods/attach`` (``kubectl attach``), output only: the container's new output lines, on
    stdout, from the moment of attaching until it ends (then a Success Status) or the client goes.
    jetkube's kubelets give no container stdin or terminal (as ``jetkube attach``): ``-i``/``-t``
    get the container's output and their input is dropped."""
    import asyncio

    from actors.kubelet.server_client import node_logs

    ns = target.namespace or "default"
    allowed = await api.can_i("create", "pods/attach", ns, target.name)
    if not allowed.get("allowed"):
        raise Forbidden(
            f'pods "{target.name}" is forbidden: User "{api.impersonate}" cannot create resource '
            f'"pods/attach" in API group "" in the namespace "{ns}"'
        )
    pod = await api.get("pods", str(target.name), ns)
    container = check_container(pod, request.query.get("container") or None)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise BadRequest(f"cannot attach a container in a completed pod; current phase is {phase}")
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise BadRequest(f"pod {target.name} does not have a host assigned")
    require_websocket(request, "pods/attach")
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)
    meta = pod.get("metadata") or {}
    payload = {
        "namespace": ns,
        "pod": meta.get("name"),
        "uid": (meta.get("annotations") or {}).get(MIRROR_ANNOTATION) or meta.get("uid"),
        "container": container,
        "tail": 0,
        "follow": True,
    }
    sends: list[Any] = []

    def on_lines(lines: list[str]) -> None:
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        sends.append(asyncio.ensure_future(ws.send_bytes(bytes([STDOUT]) + text.encode())))

    async def follow() -> dict[str, Any]:
        try:
            await node_logs(bus, str(node), payload, on_lines)
            return {"metadata": {}, "status": "Success"}
        except JetkubeError as err:
            return err.to_status()

    async def client_gone() -> None:
        async for _msg in ws:  # stdin and resizes are dropped; the loop ends when the client closes
            pass

    reader = asyncio.ensure_future(follow())
    watcher = asyncio.ensure_future(client_gone())
    try:
        done, _ = await asyncio.wait({reader, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if reader in done and not ws.closed:
            await asyncio.gather(*sends, return_exceptions=True)
            await ws.send_bytes(bytes([ERROR]) + json.dumps(reader.result()).encode())
    finally:
        for task in (reader, watcher):
            task.cancel()
        await asyncio.gather(reader, watcher, *sends, return_exceptions=True)
        await ws.close()
    return ws
