"""``pods/portforward`` for the real ``kubectl port-forward`` (1.30+): SPDY/3.1 tunnelled in WebSocket.

kubectl opens ``GET .../pods/<name>/portforward`` as a WebSocket with the subprotocol
``SPDY/3.1+portforward.k8s.io`` and then speaks SPDY (spdy.py) over the binary messages, as it
would over a raw upgraded connection. For every local connection it accepts it opens two streams
with the same ``requestID`` and ``port`` headers: ``streamType: error`` (which it half-closes at
once and reads to its end) and ``streamType: data`` (the bytes, both ways). The gateway answers
each SYN_STREAM with a SYN_REPLY, echoes PINGs, and once a pair is complete relays the data stream
through the pod's kubelet over NATS exactly as ``jetkube port-forward`` does
(actors/kubelet/portforward.py ``forward_connection``: no logic of its own here). When the relay
ends the gateway closes (FIN) the data stream, writes the kubelet's error, if any, on the error
stream, and closes it: kubectl prints that error, as it prints a kubelet's, and, since 1.29, ends
the whole port-forward ("lost connection to pod"), as it does against Kubernetes.

The same handler serves the ``v4.channel.k8s.io`` WebSocket protocol of the official clients
(Python ``kubernetes.stream.portforward``), which the subprotocol negotiation picks instead:
``?ports=80,8081`` names the ports; one connection per port per WebSocket, dialled at once, as the
kubelet does; port ``i`` has data channel ``2i`` and error channel ``2i+1``; every message starts
with its channel byte, and the server's first message on each channel is the port, two bytes
little-endian (``ChannelSession``). The protocol has no half-close: the pod's end of a connection
ends it, and the WebSocket closes once every port's connection has ended.

Authorization is ``create`` on ``pods/portforward``, as in Kubernetes, checked before the upgrade
(a refusal is a 403 Status that kubectl prints). The older plain ``Upgrade: SPDY/3.1`` is not
served: kubectl 1.30+ only falls back to it when the WebSocket upgrade fails.

Lifecycle: one ``PortForwardSession`` per WebSocket. Its reader (the handler's task) cuts frames and
dispatches them; one named sender task writes every outgoing frame in order (header compression
needs that order); one named task per stream pair runs the relay. A RST_STREAM of a data stream is
the end of the client's bytes; the relay gets ``RESET_GRACE`` seconds to finish, then is cancelled.
A stream whose partner has not come after ``PAIR_TIMEOUT`` seconds is reset, as the kubelet does.
Closing the WebSocket (or a GOAWAY) cancels every relay. Like spdystream, reading stops while one
stream has ``INBOX_LIMIT`` bytes waiting for its kubelet: backpressure for the whole connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import structlog
from aiohttp import WSMsgType, web

from actors.gateway import spdy
from actors.gateway.paths import Target
from actors.gateway.wire import require_pod_right
from actors.kubelet.portforward import forward_connection
from bus.client import ApiClient
from bus.connection import Bus
from schemas.errors import BadRequest, JetkubeError

log = structlog.get_logger(__name__)

PROTOCOL = "portforward.k8s.io"
WEBSOCKET_PROTOCOL = "SPDY/3.1+" + PROTOCOL
CHANNEL_PROTOCOL = "v4.channel.k8s.io"  # the official clients' port-forward over WebSocket
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
FRAME_DATA = 32 * 1024  # bytes per DATA frame sent
INBOX_LIMIT = 1024 * 1024
RESET_GRACE = 2.0
PAIR_TIMEOUT = 30.0  # the kubelet's streamCreationTimeout: a stream whose partner never comes is reset
FLUSH_TIMEOUT = 5.0


class Inbox:
    """The client's bytes for one data stream, read by the relay as an ``asyncio.StreamReader``."""

    def __init__(self, limit: int = INBOX_LIMIT) -> None:
        self._buffer = bytearray()
        self._eof = False
        self._closed = False
        self._readable = asyncio.Event()
        self._drained = asyncio.Event()
        self.limit = limit

    def feed(self, data: bytes) -> None:
        if not self._eof and not self._closed:
            self._buffer += data
            self._readable.set()

    def feed_eof(self) -> None:
        self._eof = True
        self._readable.set()
        self._drained.set()

    def close(self) -> None:
        """Nobody reads any more: what comes later is dropped."""
        self._closed = True
        self._buffer.clear()
        self.feed_eof()

    async def read(self, n: int = -1) -> bytes:
        while not self._buffer and not self._eof:
            self._readable.clear()
            await self._readable.wait()
        size = len(self._buffer) if n < 0 else min(n, len(self._buffer))
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        if len(self._buffer) < self.limit:
            self._drained.set()
        return data

    async def room(self) -> None:
        while len(self._buffer) >= self.limit and not self._eof:
            self._drained.clear()
            await self._drained.wait()


@dataclass
class Stream:
    id: int
    kind: str  # "error" or "data"
    port: str
    request_id: str
    remote_done: bool = False  # the client sent FIN (or reset)
    local_done: bool = False  # we sent FIN (or reset)
    inbox: Inbox = field(default_factory=Inbox)


@dataclass
class Pair:
    request_id: str
    error: Stream | None = None
    data: Stream | None = None
    relay: asyncio.Future[None] | None = None
    task: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None  # expires a pair still incomplete


class StreamWriter:
    """What the relay writes to: DATA frames on one stream (an ``asyncio.StreamWriter`` to it)."""

    def __init__(self, session: PortForwardSession, stream: Stream) -> None:
        self.session = session
        self.stream = stream

    def write(self, data: bytes) -> None:
        if self.stream.local_done:
            return
        for start in range(0, len(data), FRAME_DATA):
            self.session.send(spdy.encode_data(self.stream.id, data[start : start + FRAME_DATA]))

    async def drain(self) -> None:
        await self.session.drain()

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.session.finish(self.stream)

    def close(self) -> None:
        self.session.finish(self.stream)

    def is_closing(self) -> bool:
        return self.stream.local_done

    async def wait_closed(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.session.drain()


Relay = Callable[[Bus, str, dict[str, Any], asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class WsOutbox:
    """What both port-forward sessions share: messages to the client queued and sent in order by one
    task (``sender``), ``drain`` to wait for them, ``broken`` once the client's socket failed."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self.broken = False

    def send(self, message: bytes) -> None:
        self.outgoing.put_nowait(message)

    async def drain(self) -> None:
        if not self.broken:
            await self.outgoing.join()
        if self.broken:
            raise ConnectionResetError("the port-forward connection to the client is closed")

    async def sender(self) -> None:
        while True:
            message = await self.outgoing.get()
            try:
                if not self.broken:
                    await self.ws.send_bytes(message)
            except (ConnectionError, RuntimeError) as err:
                log.debug("portforward.send_failed", error=str(err))
                self.broken = True
            finally:
                self.outgoing.task_done()


class PortForwardSession(WsOutbox):
    """``relay`` is ``forward_connection`` (tests pass their own); ``reset_grace`` and
    ``pair_timeout`` default to RESET_GRACE and PAIR_TIMEOUT."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        bus: Bus,
        node: str,
        pod: dict[str, Any],
        *,
        relay: Relay = forward_connection,
        reset_grace: float = RESET_GRACE,
        pair_timeout: float = PAIR_TIMEOUT,
    ) -> None:
        super().__init__(ws)
        self.bus = bus
        self.node = node
        self.pod = pod  # {namespace, pod, uid}
        self.relay = relay
        self.reset_grace = reset_grace
        self.pair_timeout = pair_timeout
        self.frames = spdy.FrameReader()
        self.inflate = spdy.HeaderDecompressor()
        self.deflate = spdy.HeaderCompressor()
        self.streams: dict[int, Stream] = {}
        self.pairs: dict[str, Pair] = {}
        self.last_stream = 0
        self.tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ sending

    def finish(self, stream: Stream) -> None:
        if not stream.local_done:
            stream.local_done = True
            self.send(spdy.encode_data(stream.id, b"", fin=True))

    # ------------------------------------------------------------------ receiving

    async def run(self) -> None:
        sender = asyncio.create_task(self.sender(), name="gateway-portforward-sender")
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY:
                    if msg.type == WSMsgType.TEXT:
                        log.debug("portforward.text_message_dropped")
                        continue
                    break
                if not await self.received(msg.data):
                    break
        finally:
            for pair in self.pairs.values():
                if pair.timer is not None:
                    pair.timer.cancel()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            self.pairs.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outgoing.join(), FLUSH_TIMEOUT)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            await self.ws.close()

    async def received(self, data: bytes) -> bool:
        """Handle the frames ``data`` completes; False once the connection must end."""
        try:
            for frame in self.frames.feed(data):
                if isinstance(frame, spdy.DataFrame):
                    await self.on_data(frame)
                elif frame.type == spdy.SYN_STREAM:
                    self.on_syn_stream(spdy.parse_syn_stream(frame, self.inflate))
                elif frame.type == spdy.RST_STREAM:
                    self.on_reset(*spdy.parse_rst_stream(frame))
                elif frame.type == spdy.PING:
                    self.send(spdy.ping(spdy.parse_ping(frame)))
                elif frame.type == spdy.GOAWAY:
                    return False
                # SYN_REPLY, SETTINGS, HEADERS, WINDOW_UPDATE and unknown types: nothing to do
        except spdy.SpdyError as err:
            log.info("portforward.protocol_error", error=str(err))
            self.send(spdy.goaway(self.last_stream, spdy.PROTOCOL_ERROR))
            return False
        return True

    def on_syn_stream(self, syn: spdy.SynStream) -> None:
        if syn.stream_id in self.streams or syn.stream_id % 2 == 0 or syn.stream_id <= self.last_stream:
            self.send(spdy.rst_stream(syn.stream_id, spdy.PROTOCOL_ERROR))
            return
        self.last_stream = syn.stream_id
        kind, request_id = syn.header("streamType"), syn.header("requestID")
        if kind not in ("error", "data") or request_id is None:
            log.info("portforward.stream_refused", stream_type=kind, request_id=request_id)
            self.send(spdy.rst_stream(syn.stream_id, spdy.PROTOCOL_ERROR))
            return
        pair = self.pairs.get(request_id)
        if pair is None:
            pair = self.pairs[request_id] = Pair(request_id)
            pair.timer = asyncio.get_running_loop().call_later(self.pair_timeout, self.expire, pair)
        if getattr(pair, kind) is not None or pair.task is not None:
            self.send(spdy.rst_stream(syn.stream_id, spdy.PROTOCOL_ERROR))
            return
        stream = Stream(syn.stream_id, kind, syn.header("port") or "", request_id, remote_done=syn.fin)
        if syn.fin:
            stream.inbox.feed_eof()
        self.streams[stream.id] = stream
        setattr(pair, kind, stream)
        self.send(spdy.syn_reply(stream.id, self.deflate.compress({})))
        if pair.error is not None and pair.data is not None:
            if pair.timer is not None:
                pair.timer.cancel()
            task = asyncio.create_task(self.forward(pair), name=f"gateway-portforward-{request_id}")
            pair.task = task
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def expire(self, pair: Pair) -> None:
        """A pair still incomplete after ``pair_timeout``: reset the stream that came."""
        if pair.task is not None or self.pairs.get(pair.request_id) is not pair:
            return
        log.info("portforward.pair_timeout", request=pair.request_id)
        del self.pairs[pair.request_id]
        for stream in (pair.error, pair.data):
            if stream is not None:
                self.streams.pop(stream.id, None)
                stream.inbox.close()
                if not stream.local_done:
                    stream.local_done = True
                    self.send(spdy.rst_stream(stream.id, spdy.CANCEL))

    async def on_data(self, frame: spdy.DataFrame) -> None:
        stream = self.streams.get(frame.stream_id)
        if stream is None or stream.remote_done:
            return
        if stream.kind == "data" and frame.data:
            stream.inbox.feed(frame.data)
        if frame.fin:
            stream.remote_done = True
            stream.inbox.feed_eof()
        elif stream.kind == "data":
            await stream.inbox.room()

    def on_reset(self, stream_id: int, status: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        log.debug("portforward.reset", stream=stream_id, status=status)
        stream.remote_done = stream.local_done = True
        stream.inbox.close()
        pair = self.pairs.get(stream.request_id)
        if pair is not None and pair.relay is not None and not pair.relay.done():
            asyncio.get_running_loop().call_later(self.reset_grace, pair.relay.cancel)

    # ------------------------------------------------------------------ one forwarded connection

    async def forward(self, pair: Pair) -> None:
        assert pair.error is not None and pair.data is not None
        error, data = pair.error, pair.data
        message = ""
        try:
            port = _port(data.port)
            payload = {**self.pod, "port": port}
            writer = StreamWriter(self, data)
            pair.relay = asyncio.ensure_future(
                self.relay(
                    self.bus,
                    self.node,
                    payload,
                    cast(asyncio.StreamReader, data.inbox),
                    cast(asyncio.StreamWriter, writer),
                )
            )
            try:
                await pair.relay
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                log.debug("portforward.reset_relay_cancelled", request=pair.request_id)
        except JetkubeError as err:
            message = err.message
        except Exception:  # one connection's bug must not end the others
            log.exception("portforward.failed", request=pair.request_id)
            message = "internal error forwarding the connection (see the gateway's log)"
        finally:
            if pair.relay is not None and not pair.relay.done():
                pair.relay.cancel()
                await asyncio.gather(pair.relay, return_exceptions=True)
            data.inbox.close()
            self.finish(data)
            if message and not error.local_done:
                self.send(spdy.encode_data(error.id, message.encode()))
            self.finish(error)
            for stream in (error, data):
                self.streams.pop(stream.id, None)
            self.pairs.pop(pair.request_id, None)


# ---------------------------------------------------------------------- v4.channel.k8s.io


def parse_ports(values: list[str]) -> list[int]:
    """``?ports=80&ports=8081`` or ``?ports=80,8081``: the ports, in order (Kubernetes' rules)."""
    ports = [_port(part.strip()) for value in values for part in value.split(",") if part.strip()]
    if not ports:
        raise BadRequest('query parameter "ports" is required: the pod ports to forward')
    if len(ports) > 127:  # channel 2i+1 must fit one byte
        raise BadRequest(f"at most 127 ports may be forwarded over one connection, not {len(ports)}")
    return ports


def channel_greetings(ports: list[int]) -> list[bytes]:
    """The server's first message on every channel: channel byte, then the port little-endian."""
    out = []
    for index, port in enumerate(ports):
        for channel in (2 * index, 2 * index + 1):
            out.append(bytes([channel]) + port.to_bytes(2, "little"))
    return out


def channel_message(data: bytes, count: int) -> tuple[int, bytes] | None:
    """The port index and bytes of a client message on a data channel; None for anything else
    (an empty message, an error channel, a channel beyond the ports)."""
    if not data or data[0] % 2 or data[0] // 2 >= count:
        return None
    return data[0] // 2, data[1:]


class ChannelWriter:
    """What one port's relay writes to: messages on its data channel. The protocol has no
    half-close, so the pod's end (``write_eof``) ends the client's side too (``on_eof``)."""

    def __init__(self, session: ChannelSession, channel: int, inbox: Inbox) -> None:
        self.session = session
        self.channel = channel
        self.inbox = inbox
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        for start in range(0, len(data), FRAME_DATA):
            self.session.send(bytes([self.channel]) + data[start : start + FRAME_DATA])

    async def drain(self) -> None:
        await self.session.drain()

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.inbox.feed_eof()

    def close(self) -> None:
        self.closed = True
        self.inbox.close()

    def is_closing(self) -> bool:
        return self.closed

    async def wait_closed(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.session.drain()


class ChannelSession(WsOutbox):
    """One ``v4.channel.k8s.io`` WebSocket: one relayed connection per port, all dialled at once.
    A relay's error goes to its port's error channel; the WebSocket closes when every relay has
    ended, or the relays are cancelled when the client closes it first."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        bus: Bus,
        node: str,
        pod: dict[str, Any],
        ports: list[int],
        *,
        relay: Relay = forward_connection,
    ) -> None:
        super().__init__(ws)
        self.bus = bus
        self.node = node
        self.pod = pod
        self.ports = ports
        self.relay = relay
        self.inboxes = [Inbox() for _ in ports]

    async def forward(self, index: int) -> None:
        port, inbox = self.ports[index], self.inboxes[index]
        writer = ChannelWriter(self, 2 * index, inbox)
        message = ""
        try:
            await self.relay(
                self.bus,
                self.node,
                {**self.pod, "port": port},
                cast(asyncio.StreamReader, inbox),
                cast(asyncio.StreamWriter, writer),
            )
        except JetkubeError as err:
            message = err.message
        except Exception:  # one port's bug must not end the others
            log.exception("portforward.failed", port=port)
            message = "internal error forwarding the connection (see the gateway's log)"
        finally:
            inbox.close()
        if message:
            self.send(bytes([2 * index + 1]) + message.encode())

    async def reader(self) -> None:
        async for msg in self.ws:
            if msg.type == WSMsgType.TEXT:
                log.debug("portforward.text_message_dropped")
                continue
            if msg.type != WSMsgType.BINARY:
                break
            found = channel_message(msg.data, len(self.ports))
            if found is None:
                continue
            index, data = found
            if data:
                self.inboxes[index].feed(data)
                await self.inboxes[index].room()

    async def run(self) -> None:
        for greeting in channel_greetings(self.ports):
            self.send(greeting)
        sender = asyncio.create_task(self.sender(), name="gateway-portforward-channel-sender")
        relays = [
            asyncio.create_task(self.forward(i), name=f"gateway-portforward-channel-{port}")
            for i, port in enumerate(self.ports)
        ]
        reader = asyncio.create_task(self.reader(), name="gateway-portforward-channel-reader")
        all_relays: asyncio.Future[Any] = asyncio.gather(*relays)
        try:
            await asyncio.wait(
                [cast(asyncio.Future[Any], reader), all_relays], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (*relays, reader):
                task.cancel()
            await asyncio.gather(*relays, reader, all_relays, return_exceptions=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outgoing.join(), FLUSH_TIMEOUT)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            await self.ws.close()


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise BadRequest(f'invalid port "{text}": must be between 1 and 65535, inclusive')
    return int(text)


async def portforward_websocket(
    request: web.Request, bus: Bus, api: ApiClient, target: Target
) -> web.StreamResponse:
    ns = target.namespace or "default"
    await require_pod_right(api, "create", "pods/portforward", ns, target.name)
    pod = await api.get("pods", str(target.name), ns)
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise BadRequest(f"pod {target.name} does not have a host assigned")
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise BadRequest(
            f"pods/portforward is served over WebSocket ({WEBSOCKET_PROTOCOL}, kubectl 1.30 and later, "
            f"or {CHANNEL_PROTOCOL}, the official clients) only; a plain SPDY upgrade is not"
        )
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    ports = parse_ports(request.query.getall("ports", [])) if CHANNEL_PROTOCOL in offered else []
    ws = web.WebSocketResponse(protocols=(WEBSOCKET_PROTOCOL, CHANNEL_PROTOCOL))
    await ws.prepare(request)
    if ws.ws_protocol not in (WEBSOCKET_PROTOCOL, CHANNEL_PROTOCOL):
        await ws.close(message=f"the subprotocol must be {WEBSOCKET_PROTOCOL} or {CHANNEL_PROTOCOL}".encode())
        return ws
    meta = pod.get("metadata") or {}
    who = {
        "namespace": ns,
        "pod": meta.get("name"),
        "uid": (meta.get("annotations") or {}).get(MIRROR_ANNOTATION) or meta.get("uid"),
    }
    log.debug("portforward.start", pod=f"{ns}/{target.name}", node=node, protocol=ws.ws_protocol)
    if ws.ws_protocol == CHANNEL_PROTOCOL:
        await ChannelSession(ws, bus, str(node), who, ports).run()
    else:
        await PortForwardSession(ws, bus, str(node), who).run()
    return ws
