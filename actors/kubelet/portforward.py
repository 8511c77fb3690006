"""Port forwarding over NATS: one TCP connection to a pod's port, relayed through its kubelet.

``jetkube port-forward`` accepts TCP connections on the user's machine; for each one it asks the
pod's node and relays bytes both ways. Wire protocol (public; the README's subjects table):

1. The client subscribes to an inbox of its own and requests ``jetkube.node.<node>.portforward``
   with ``{namespace, pod, uid?, port, stream: <client inbox>}``.
2. The kubelet finds the pod's running sandbox (by its labels), connects to ``<pod IP>:<port>``
   (the pod's network namespace on this host; 127.0.0.1 for a hostNetwork pod), subscribes to
   ``jetkube.node.<node>.portforward.<id>`` and replies ``{"inbox": that subject}``, or an error
   (no such pod, connection refused) and nothing else happens.
3. Each side then sends what its socket reads to the other's inbox as bus/chunkstream.py's
   acknowledged chunks, one at a time, each a msgpack map, acknowledged once written to the other
   socket (and drained: a slow reader slows the sender, at most one chunk of ``CHUNK`` bytes is in
   flight per direction):

   * ``{"data": <bytes>}``: the next bytes;
   * ``{"eof": true}``: this side's socket reached end of stream (a TCP half-close, passed on
     with ``write_eof``); nothing more will come from this side;
   * ``{"error": <Status>}``: this side's socket failed; the other side closes its socket;
   * ``{}``: a heartbeat, after ``heartbeat`` seconds with nothing to send.

A request nobody acknowledges (no responders once the peer unsubscribed, or no ack within
``ack_timeout``) ends the relay: the peer has gone. Hearing nothing at all, not even a heartbeat,
for ``3 * heartbeat + ack_timeout`` seconds means the same. The relay ends cleanly when both
directions have sent and received their eof.

The kubelet's relays run in its server's task group (server.py): stopping the server closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

import structlog

from actors.kubelet import labels as L
from bus.cancelsafe import wait_for
from bus.chunkstream import ChunkReceiver, PeerGone, send_chunk, silence_limit
from bus.connection import Bus
from bus.rpc import request
from schemas.errors import BadRequest, InternalError, JetkubeError, NotFound, ServiceUnavailable, from_status

log = structlog.get_logger(__name__)

CHUNK = 64 * 1024
HEARTBEAT_SECONDS = 5.0
ACK_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 15.0


@dataclass(frozen=True)
class RelaySettings:
    heartbeat: float = HEARTBEAT_SECONDS
    ack_timeout: float = ACK_TIMEOUT
    chunk: int = CHUNK

    @property
    def silence_limit(self) -> float:
        return silence_limit(self.heartbeat, self.ack_timeout)


class PeerError(Exception):
    """The other side reported that its socket failed."""


def subject_for(node_name: str, verb: str) -> str:
    from bus.auth import node_subject

    return node_subject(node_name, verb)


def check_port(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= 65535:
        raise BadRequest(f"invalid port {value!r}: must be between 1 and 65535, inclusive")
    return value


# ---------------------------------------------------------------------------------- the relay


async def relay(
    bus: Bus,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    incoming: ChunkReceiver,
    peer: str,
    settings: RelaySettings = RelaySettings(),
) -> None:
    """Relay ``reader`` -> ``peer`` and ``incoming`` -> ``writer`` until both directions end.

    Raises PeerGone (the peer went away), PeerError (its socket failed) or OSError (ours did);
    always closes ``writer``."""

    async def outbound() -> None:
        while True:
            try:
                data = await wait_for(reader.read(settings.chunk), settings.heartbeat)
            except TimeoutError:
                await send_chunk(bus, peer, {}, settings.ack_timeout)
                continue
            except OSError as err:
                with contextlib.suppress(PeerGone):
                    failure = ServiceUnavailable(f"the connection failed: {err}")
                    await send_chunk(bus, peer, {"error": failure.to_status()}, settings.ack_timeout)
                raise
            if not data:
                await send_chunk(bus, peer, {"eof": True}, settings.ack_timeout)
                return
            await send_chunk(bus, peer, {"data": data}, settings.ack_timeout)

    async def inbound() -> None:
        while True:
            received = await incoming.receive(settings.silence_limit)
            chunk = received.body
            if chunk.get("data"):
                writer.write(chunk["data"])
                await writer.drain()
            await received.ack()
            if chunk.get("eof"):
                if writer.can_write_eof():
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                return
            if "error" in chunk:
                raise PeerError(from_status(chunk["error"]).message)

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(outbound(), name=f"portforward-out-{peer}")
            tg.create_task(inbound(), name=f"portforward-in-{peer}")
    except* (PeerGone, PeerError, OSError, JetkubeError) as group:
        raise group.exceptions[0] from None
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


# ---------------------------------------------------------------------------------- the kubelet


async def pod_address(runtime: Any, node_name: str, payload: dict[str, Any]) -> str:
    """The IP of the pod's running sandbox on this node (127.0.0.1 for hostNetwork)."""
    namespace = str(payload.get("namespace") or "default")
    pod = payload.get("pod")
    if not pod:
        raise BadRequest("the request must name a pod")
    uid = payload.get("uid") or None
    sandboxes = [
        c
        for c in await runtime.list(node_name, include_dead=False, type_=L.TYPE_SANDBOX)
        if c.namespace == namespace and c.pod_name == pod and (uid is None or c.pod_uid == uid) and c.running
    ]
    if not sandboxes:
        raise NotFound(f'pod "{pod}" is not running on node {node_name}')
    newest = max(sandboxes, key=lambda c: (c.attempt, c.created.timestamp() if c.created else 0.0))
    return str(await runtime.sandbox_ip(newest.id)) or "127.0.0.1"


async def open_forward(
    bus: Bus, runtime: Any, node_name: str, payload: dict[str, Any], tasks: asyncio.TaskGroup | None
) -> dict[str, Any]:
    """Serve one ``portforward`` request: connect to the pod, then relay in a task of ``tasks``."""
    port = check_port(payload.get("port"))
    client_inbox = payload.get("stream")
    if not client_inbox or not isinstance(client_inbox, str):
        raise BadRequest("port-forward needs a stream: put an inbox in the request's 'stream'")
    if tasks is None:
        raise ServiceUnavailable("the kubelet's server is stopping")
    ip = await pod_address(runtime, node_name, payload)
    where = f"{payload.get('namespace') or 'default'}/{payload.get('pod')}"
    try:
        reader, writer = await wait_for(asyncio.open_connection(ip, port), CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise ServiceUnavailable(
            f"error forwarding port {port} to pod {where}: failed to connect to {ip}:{port}: "
            f"{err or 'timed out'}"
        ) from None
    inbox = subject_for(node_name, f"portforward.{uuid.uuid4().hex}")
    incoming = ChunkReceiver(bus, what="port-forward chunk", subject=inbox)
    try:
        await incoming.open()
    except JetkubeError:
        writer.close()
        raise

    async def run() -> None:
        try:
            await relay(bus, reader, writer, incoming, client_inbox)
            log.debug("portforward.done", pod=where, port=port)
        except (PeerGone, PeerError, OSError, JetkubeError) as err:
            log.debug("portforward.ended", pod=where, port=port, why=str(err))
        except Exception:  # one relay's bug must not stop the server's task group
            log.exception("portforward.failed", pod=where, port=port)
        finally:
            await incoming.close()

    tasks.create_task(run(), name=f"portforward-{inbox.rsplit('.', 1)[-1][:12]}")
    log.debug("portforward.open", pod=where, port=port, upstream=f"{ip}:{port}")
    return {"inbox": inbox}


# ---------------------------------------------------------------------------------- the client


async def forward_connection(
    bus: Bus,
    node: str,
    payload: dict[str, Any],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    settings: RelaySettings = RelaySettings(),
) -> None:
    """Relay one accepted local connection to the pod ``payload`` names (``{namespace, pod, uid,
    port}``) through ``node``'s kubelet. Raises the kubelet's error (a reset of the local connection
    is a normal end); always closes ``writer``."""
    incoming = ChunkReceiver(bus, what=f"port-forward chunk from node {node}")
    try:
        await incoming.open()
    except BaseException:
        writer.close()
        raise
    try:
        reply = await request(
            bus,
            subject_for(node, "portforward"),
            {**payload, "stream": incoming.inbox},
            timeout=REQUEST_TIMEOUT,
        )
        peer = (reply or {}).get("inbox")
        if not peer:
            raise InternalError(f"malformed port-forward reply from node {node}")
        try:
            await relay(bus, reader, writer, incoming, str(peer), settings)
        except PeerGone as err:
            raise ServiceUnavailable(f"lost connection to the kubelet of node {node}: {err}") from None
        except PeerError as err:
            raise ServiceUnavailable(str(err)) from None
        except OSError as err:  # the local client reset its connection: the kubelet was told
            log.debug("portforward.local_reset", node=node, error=str(err))
    finally:
        writer.close()
        await incoming.close()
