"""The cluster DNS server: UDP and TCP on one port, the cluster zone from the informers' caches.

Lifecycle (:meth:`DnsServer.start`): shared informers over Services and Endpoints, and the agent
``dns:server``, which waits for their initial sync, binds UDP and TCP on ``host:port`` (port 0
picks a free one, the same for both), then serves until stopped; :attr:`DnsServer.port` is the
bound port and :meth:`DnsServer.ready` waits for it.

A query in the zone is answered from the caches by records.resolve (authoritative). Any other
name is forwarded, as the client sent it, to the host's resolvers (``/etc/resolv.conf``'s
nameservers, or ``upstream``), over UDP with a 2 s timeout each; no answer is SERVFAIL. TCP
queries are length-prefixed (RFC 1035 4.2.2); several may come on one connection.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path
from typing import Any

import structlog
from dnslib import RCODE, DNSRecord

from actors.dns.records import DEFAULT_DOMAIN, resolve
from actors.runtime.pktinfo import pktinfo_udp_socket, recv_with_destination, send_from
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor, guarded_task
from bus.cancelsafe import wait_for

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
FORWARD_TIMEOUT = 2.0


def host_resolvers(path: str = "/etc/resolv.conf") -> list[str]:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return []
    return [ln.split()[1] for ln in lines if ln.startswith("nameserver") and len(ln.split()) > 1]


class DnsServer:
    def __init__(
        self,
        api: Any,
        *,
        host: str = "0.0.0.0",
        port: int = 0,
        domain: str = DEFAULT_DOMAIN,
        upstream: list[str] | None = None,
        informers: SharedInformers | None = None,
    ) -> None:
        self.informers = informers or SharedInformers(api)
        self.services = self.informers.informer("services")
        self.endpoints = self.informers.informer("endpoints")
        self.host = host
        self.port = port
        self.domain = domain
        self.upstream = upstream if upstream is not None else host_resolvers()
        self.queries = 0
        self._bound = asyncio.Event()

    def start(self, sup: Supervisor) -> None:
        for inf in (self.services, self.endpoints):  # own names: the process may hold other informers
            sup.spawn(f"dns:{inf.name}", inf.run)
        sup.spawn("dns:server", self.run)

    async def ready(self, timeout: float | None = 30.0) -> int:
        await wait_for(self._bound.wait(), timeout)
        return self.port

    # ------------------------------------------------------------------ answering

    def _lookup(self, informer: Any) -> Any:
        return lambda ns, name: informer.get(f"{ns}/{name}")

    def answer_local(self, request: DNSRecord) -> bytes | None:
        """The reply when the question is in the zone; None to forward."""
        q = request.q
        ans = resolve(
            str(q.qname), q.qtype, self._lookup(self.services), self._lookup(self.endpoints), self.domain
        )
        if ans is None:
            return None
        reply = request.reply()
        reply.header.rcode = ans.rcode
        for rr in ans.answers:
            reply.add_answer(rr)
        for rr in ans.additional:
            reply.add_ar(rr)
        return reply.pack()

    async def handle(self, data: bytes) -> bytes | None:
        self.queries += 1
        try:
            request = DNSRecord.parse(data)
        except Exception:  # dnslib raises its own DNSError and struct errors on garbage
            return None
        local = self.answer_local(request)
        if local is not None:
            return local
        for server in self.upstream:
            try:
                return await self._forward(data, server)
            except (OSError, TimeoutError):
                continue
        reply = request.reply()
        reply.header.rcode = RCODE.SERVFAIL
        return reply.pack()

    async def _forward(self, data: bytes, server: str) -> bytes:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            await loop.sock_connect(s, (server, 53))
            await loop.sock_sendall(s, data)
            return await wait_for(loop.sock_recv(s, 65535), FORWARD_TIMEOUT)

    # ------------------------------------------------------------------ serving

    async def run(self) -> None:
        await self.informers.wait_synced()
        tcp = await asyncio.start_server(self._tcp, self.host, self.port, reuse_address=True)
        port = int(tcp.sockets[0].getsockname()[1])
        try:
            udp = _UdpServer(self.handle)
            udp.listen(self.host, port)
        except OSError:
            tcp.close()
            raise
        self.port = port
        self._bound.set()
        log.info("dns.serving", address=f"{self.host}:{port}", domain=self.domain, upstream=self.upstream)
        try:
            await asyncio.Event().wait()
        finally:
            udp.close()
            tcp.close()
            self._bound.clear()

    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(2)
                data = await reader.readexactly(struct.unpack("!H", head)[0])
                out = await self.handle(data)
                if out is None:
                    break
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _UdpServer:
    """UDP on a plain socket that answers each query *from* the address it was sent to
    (IP_PKTINFO). Bound to 0.0.0.0, a reply would otherwise leave from the address the route to the
    client picks (the bridge's, for a pod), and a query the service proxy DNATed to the host's
    address (iptables mode) would get its reply from an address the client never asked."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.sock: socket.socket | None = None

    def listen(self, host: str, port: int) -> None:
        sock = pktinfo_udp_socket(host, port)
        self.sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        assert self.sock is not None
        for _ in range(64):  # a bounded batch, then let others run
            try:
                data, addr, local = recv_with_destination(self.sock)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            guarded_task("dns:query", self._reply(data, addr, local))

    async def _reply(self, data: bytes, addr: tuple[str, int], local: bytes) -> None:
        out = await self.handle(data)
        if out is None or self.sock is None:
            return
        try:
            send_from(self.sock, out, addr, local)
        except OSError as exc:
            log.info("dns.reply_failed", client=addr[0], error=str(exc))

    def close(self) -> None:
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
