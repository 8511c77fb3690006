"""The client side of a kubelet's logs and exec (the CLI's, and the tests').

    await node_exec(bus, node, {"namespace": ..., "pod": ..., "command": [...]}) -> {"exitCode", "output"}
    await node_logs(bus, node, {"namespace": ..., "pod": ..., "follow": True}, on_lines)

:func:`node_logs` always streams (server_stream.py has the protocol): it subscribes to an inbox
first, sends the request with ``stream`` set, then calls ``on_lines`` for each chunk and
acknowledges it. It returns at the end of the logs, raises the kubelet's error, and stops the
kubelet's stream by unsubscribing when cancelled (Ctrl-C of ``jetkube logs -f``). Hearing nothing
for three heartbeats means the kubelet is gone: ServiceUnavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import nats.errors
from nats.aio.msg import Msg

from actors.kubelet.server import DEFAULT_EXEC_TIMEOUT, node_subject
from actors.kubelet.server_stream import ACK_TIMEOUT, HEARTBEAT_SECONDS
from bus.cancelsafe import wait_for
from bus.codec import decode
from bus.connection import Bus
from bus.rpc import request
from schemas.errors import InternalError, ServiceUnavailable, from_status

REQUEST_TIMEOUT = 15.0


async def node_exec(
    bus: Bus, node: str, payload: dict[str, Any], *, timeout: float | None = None
) -> dict[str, Any]:
    limit = float(payload.get("timeout") or DEFAULT_EXEC_TIMEOUT)
    reply = await request(
        bus, node_subject(node, "exec"), {**payload, "timeout": limit}, timeout=timeout or limit + 10
    )
    return dict(reply or {})


async def node_logs(
    bus: Bus,
    node: str,
    payload: dict[str, Any],
    on_lines: Callable[[list[str]], None],
    *,
    silence_limit: float = 3 * HEARTBEAT_SECONDS + ACK_TIMEOUT,
) -> None:
    queue: asyncio.Queue[Msg] = asyncio.Queue()

    async def enqueue(msg: Msg) -> None:
        await queue.put(msg)

    inbox = bus.nc.new_inbox()
    try:
        sub = await bus.nc.subscribe(inbox, cb=enqueue)
    except nats.errors.Error as err:
        raise ServiceUnavailable(f"cannot subscribe at {bus.url}: {err}") from err
    try:
        await request(bus, node_subject(node, "logs"), {**payload, "stream": inbox}, timeout=REQUEST_TIMEOUT)
        while True:
            try:
                msg = await wait_for(queue.get(), silence_limit)
            except TimeoutError:
                raise ServiceUnavailable(
                    f"the kubelet of node {node} stopped sending the logs (nothing for {silence_limit:g}s)"
                ) from None
            chunk = decode(msg.data)
            if not isinstance(chunk, dict):
                raise InternalError(f"malformed log chunk from node {node}")
            if chunk.get("lines"):
                on_lines(list(chunk["lines"]))
            with contextlib.suppress(nats.errors.Error):
                await msg.respond(b"")
            if chunk.get("eof"):
                return
            if "error" in chunk:
                raise from_status(chunk["error"])
    finally:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()
