"""The relays: a listening socket per Service port that copies bytes to a backend the balancer picks.

TCP (:class:`TcpRelay`): asyncio protocols, no streams (half the per-byte cost). For each accepted
connection the relay asks the balancer for a backend and connects with a short timeout; a backend
that refuses or does not answer is skipped and the next one tried (its affinity pin dropped), as
Kubernetes' userspace proxy does, so a killed pod's new connections move at once, even before its
Endpoints change. Reading pauses on either side while the other side's write buffer is full.

UDP (:class:`UdpRelay`): one upstream socket per client address, connected to the backend it got;
replies go back through the listening socket, from the address the client's datagram was sent to
(IP_PKTINFO), so conntrack maps them back to the ClusterIP. A
session idle for ``udp_timeout`` seconds, or whose backend left, is closed.

Connections already open when a backend leaves are not cut (Kubernetes' userspace mode neither).
Every relay is driven by the event loop's callbacks; the only task per TCP connection is its
connect, created with guarded_task.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import structlog

from actors.proxy.plan import Backend
from actors.runtime.pktinfo import pktinfo_udp_socket, recv_with_destination, send_from
from actors.runtime.supervisor import guarded_task
from bus.cancelsafe import wait_for

log = structlog.get_logger(__name__)

Pick = Callable[[str, frozenset[Backend]], Backend | None]  # (client ip, exclude) -> backend
Forget = Callable[[str], None]
CONNECT_TIMEOUT = 1.0
MAX_TRIES = 4
HIGH_WATER = 256 * 1024


class _Half(asyncio.Protocol):
    """One side of a relayed connection; ``peer`` is the other side's transport."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Half | None = None
        self.pending: list[bytes] = []
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.set_write_buffer_limits(HIGH_WATER)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self.pending.append(data)
            return
        peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None or peer.eof or not peer.transport.can_write_eof():
            return False  # both sides done (or no half-close possible): close
        peer.transport.write_eof()
        return True  # keep our side open for the reply (half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()
        self.transport = None

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _Client(_Half):
    def __init__(self, relay: TcpRelay) -> None:
        super().__init__()
        self.relay = relay

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        transport.pause_reading()  # type: ignore[attr-defined]
        peer = transport.get_extra_info("peername") or ("", 0)
        self.relay.connections += 1
        guarded_task(f"proxy:{self.relay.name}:connect", self.relay.dial(self, str(peer[0])))


class TcpRelay:
    def __init__(self, name: str, pick: Pick, forget: Forget) -> None:
        self.name = name
        self.pick = pick
        self.forget = forget
        self.server: asyncio.AbstractServer | None = None
        self.connections = 0

    async def listen(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: _Client(self), host, port, reuse_address=True, backlog=1024
        )
        return int(self.server.sockets[0].getsockname()[1])

    async def dial(self, client: _Client, client_ip: str) -> None:
        loop = asyncio.get_running_loop()
        tried: set[Backend] = set()
        for _ in range(MAX_TRIES):
            backend = self.pick(client_ip, frozenset(tried))
            if backend is None:
                break
            try:
                _t, up = await wait_for(loop.create_connection(_Half, *backend), CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                log.info(
                    "proxy.backend_failed",
                    service=self.name,
                    backend=f"{backend[0]}:{backend[1]}",
                    error=str(exc),
                )
                tried.add(backend)
                self.forget(client_ip)
                continue
            if client.transport is None:  # the client left while we dialled
                up.transport.close()  # type: ignore[union-attr]
                return
            up.peer, client.peer = client, up
            for chunk in up.pending:
                client.transport.write(chunk)
            for chunk in client.pending:  # anything the client sent before the link (none while paused)
                up.transport.write(chunk)  # type: ignore[union-attr]
            client.pending.clear()
            client.transport.resume_reading()
            return
        log.info("proxy.no_backend", service=self.name, client=client_ip, tried=len(tried))
        if client.transport is not None:
            client.transport.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


class _UdpSession:
    def __init__(self, sock: socket.socket, backend: Backend, local: bytes) -> None:
        self.sock = sock
        self.backend = backend
        self.local = local  # the address the client sent to (after NAT): replies come from it
        self.last = time.monotonic()


class UdpRelay:
    """The UDP relay, on a plain non-blocking socket read by the loop's reader callback.

    Each datagram's destination address (IP_PKTINFO) is kept with its session and replies are sent
    *from* it: a datagram redirected to 127.0.0.1 by the OUTPUT rule came from the host's own
    address, and a reply from any other source would not match the connection's NAT entry (the
    client, connected to the ClusterIP, would drop it)."""

    def __init__(self, name: str, pick: Pick, forget: Forget, timeout: float = 1.0) -> None:
        self.name = name
        self.pick = pick
        self.forget = forget
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.sessions: dict[tuple[str, int], _UdpSession] = {}
        self._sweeper: asyncio.TimerHandle | None = None

    async def listen(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        sock = pktinfo_udp_socket(host, port)
        self.sock = sock
        loop.add_reader(sock.fileno(), self._readable)
        self._sweeper = loop.call_later(self.timeout, self._sweep)
        return int(sock.getsockname()[1])

    def _readable(self) -> None:
        assert self.sock is not None
        for _ in range(64):  # a bounded batch, then let others run
            try:
                data, addr, local = recv_with_destination(self.sock)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            self._received(data, addr, local)

    def _received(self, data: bytes, addr: tuple[str, int], local: bytes) -> None:
        sess = self.sessions.get(addr)
        if sess is None:
            sess = self._open(addr, local)
            if sess is None:
                return
        sess.last = time.monotonic()
        try:
            sess.sock.send(data)
        except OSError as exc:
            log.info("proxy.udp_send_failed", service=self.name, backend=sess.backend, error=str(exc))
            self._close(addr)
            self.forget(addr[0])

    def _open(self, addr: tuple[str, int], local: bytes) -> _UdpSession | None:
        backend = self.pick(addr[0], frozenset())
        if backend is None:
            return None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        try:
            sock.connect(backend)
        except OSError:
            sock.close()
            return None
        sess = _UdpSession(sock, backend, local)
        self.sessions[addr] = sess
        asyncio.get_running_loop().add_reader(sock.fileno(), self._reply, addr, sess)
        return sess

    def _reply(self, addr: tuple[str, int], sess: _UdpSession) -> None:
        while True:
            try:
                data = sess.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable: the backend is gone
                self._close(addr)
                self.forget(addr[0])
                return
            sess.last = time.monotonic()
            if self.sock is None:
                return
            try:
                send_from(self.sock, data, addr, sess.local)
            except OSError as exc:
                log.info("proxy.udp_reply_failed", service=self.name, client=addr[0], error=str(exc))

    def _close(self, addr: tuple[str, int]) -> None:
        sess = self.sessions.pop(addr, None)
        if sess is not None:
            asyncio.get_running_loop().remove_reader(sess.sock.fileno())
            sess.sock.close()

    def drop_backends_not_in(self, alive: set[Backend]) -> None:
        for addr, sess in list(self.sessions.items()):
            if sess.backend not in alive:
                self._close(addr)

    def _sweep(self) -> None:
        now = time.monotonic()
        for addr, sess in list(self.sessions.items()):
            if now - sess.last > self.timeout:
                self._close(addr)
        if self.sock is not None:
            self._sweeper = asyncio.get_running_loop().call_later(self.timeout, self._sweep)

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for addr in list(self.sessions):
            self._close(addr)
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
