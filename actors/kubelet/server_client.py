"""The client side of a kubelet's logs and exec (the CLI's, and the tests').

    await node_exec(bus, node, {"namespace": ..., "pod": ..., "command": [...]}) -> {"exitCode", "output"}
    await node_logs(bus, node, {"namespace": ..., "pod": ..., "follow": True}, on_lines)

:func:`node_logs` always streams (bus/chunkstream.py has the protocol, server_stream.py the
chunks): it subscribes to an inbox first, sends the request with ``stream`` set, then calls
``on_lines`` for each chunk and acknowledges it. It returns at the end of the logs, raises the
kubelet's error, and stops the kubelet's stream by unsubscribing when cancelled (Ctrl-C of
``jetkube logs -f``). Hearing nothing for three heartbeats means the kubelet is gone:
ServiceUnavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.kubelet.server import DEFAULT_EXEC_TIMEOUT, node_subject
from bus.chunkstream import ChunkReceiver, PeerGone
from bus.chunkstream import silence_limit as default_silence_limit
from bus.connection import Bus
from bus.rpc import request
from schemas.errors import ServiceUnavailable, from_status

REQUEST_TIMEOUT = 15.0
LOGS_SILENCE_LIMIT = default_silence_limit()  # three heartbeats and an ack timeout


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
    silence_limit: float = LOGS_SILENCE_LIMIT,
) -> None:
    async with ChunkReceiver(bus, what=f"log chunk from node {node}") as stream:
        await request(
            bus, node_subject(node, "logs"), {**payload, "stream": stream.inbox}, timeout=REQUEST_TIMEOUT
        )
        while True:
            try:
                chunk = await stream.receive(silence_limit)
            except PeerGone:
                raise ServiceUnavailable(
                    f"the kubelet of node {node} stopped sending the logs (nothing for {silence_limit:g}s)"
                ) from None
            if chunk.body.get("lines"):
                on_lines(list(chunk.body["lines"]))
            await chunk.ack()
            if chunk.body.get("eof"):
                return
            if "error" in chunk.body:
                raise from_status(chunk.body["error"])
