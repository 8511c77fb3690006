"""The ingress's HTTP reverse proxy (aiohttp server and client).

Per request: the routing table (routes.py) names a backend for the Host header and path; the
Service and Endpoints informers name its ready ``(pod IP, targetPort)`` pairs; the proxy picks one
round-robin (a counter per backend) and forwards the request there, streaming both bodies.

- No rule and no default backend: **404**. A backend with no Service, no such port or no ready
  endpoint: **503**. The pod refusing the connection: the next endpoint is tried (requests
  without a body only, at most three), then **502**.
- The request keeps its Host header (as ingress-nginx does); ``X-Forwarded-For`` gets the
  client's address appended, ``X-Forwarded-Host``, ``-Port`` and ``-Proto`` say what the client
  asked for. Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded either way.
- Upstream connections are pooled (aiohttp's connector, keep-alive); bodies are passed through
  unchanged (no decompression): a small one (≤ ``CHUNK``, with a Content-Length) is read whole
  and answered in one write, a larger or chunked one is streamed.

Lifecycle: :meth:`IngressProxy.run` binds the port, serves until cancelled, then closes the
listener and the upstream pool. A port already taken is logged once and tried again every
``BIND_RETRY`` seconds (a second local cluster must not crash-loop over it).

Not supported: WebSocket/Upgrade, TLS termination (``spec.tls`` is ignored).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from multidict import CIMultiDict

from actors.ingress.routes import Backend, NoUpstream, RouteTable, upstreams

log = structlog.get_logger(__name__)

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Proxy-Connection",
    )
)
MAX_TRIES = 3
BIND_RETRY = 10.0
CHUNK = 64 * 1024

Lookup = Callable[[str], dict[str, Any] | None]


def forwarded_headers(
    headers: Any, client_ip: str, host: str, port: int, proto: str = "http"
) -> dict[str, str]:
    """The headers sent upstream: the client's minus hop-by-hop ones, plus X-Forwarded-*."""
    drop = set(HOP_BY_HOP)
    for token in (headers.get("Connection") or "").split(","):
        drop.add(token.strip().lower())
    out: dict[str, str] = {}
    for key, value in headers.items():
        if key.lower() in drop:
            continue
        out[key] = f"{out[key]}, {value}" if key in out else value
    prior = headers.get("X-Forwarded-For")
    out["X-Forwarded-For"] = f"{prior}, {client_ip}" if prior else client_ip
    out["X-Forwarded-Host"] = host
    out["X-Forwarded-Port"] = str(port)
    out["X-Forwarded-Proto"] = proto
    return out


class IngressProxy:
    def __init__(
        self,
        table: Callable[[], RouteTable],
        services: Lookup,
        endpoints: Lookup,
        *,
        host: str = "0.0.0.0",
        port: int = 8080,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
    ) -> None:
        self.table = table
        self.services = services
        self.endpoints = endpoints
        self.host = host
        self.port = port
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._turns: dict[tuple[str, str, int | str], itertools.count[int]] = {}
        self.serving = asyncio.Event()
        self._client: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        server = web.Server(self.handle, access_log=None)
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        self._client = aiohttp.ClientSession(
            timeout=self.timeout,
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=None),
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )
        try:
            await self._bind(runner)
            log.info("ingress.serving", address=f"{self.host}:{self.port}")
            self.serving.set()
            await asyncio.Event().wait()
        finally:
            self.serving.clear()
            await runner.cleanup()
            await self._client.close()
            self._client = None

    async def _bind(self, runner: web.ServerRunner) -> None:
        """Listen on the port; while it is taken, say so once and try again every BIND_RETRY s."""
        warned = False
        while True:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            try:
                await site.start()
                return
            except OSError as err:
                (log.debug if warned else log.warning)(
                    "ingress.port_unavailable", address=f"{self.host}:{self.port}", error=str(err)
                )
                warned = True
                await asyncio.sleep(BIND_RETRY)

    # ------------------------------------------------------------------ one request

    def pick(self, backend: Backend) -> list[tuple[str, int]] | NoUpstream:
        """The backend's ready endpoints, rotated so that successive requests take turns."""
        key = f"{backend.namespace}/{backend.service}"
        found = upstreams(backend, self.services(key), self.endpoints(key))
        if isinstance(found, NoUpstream):
            return found
        turn = next(
            self._turns.setdefault((backend.namespace, backend.service, backend.port), itertools.count())
        )
        i = turn % len(found)
        return found[i:] + found[:i]

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        backend = self.table().match(host, request.path)
        if backend is None:
            return _text(
                404, f"404 page not found: no ingress rule for host {host!r} and path {request.path!r}"
            )
        found = self.pick(backend)
        if isinstance(found, NoUpstream):
            return _text(503, f"503 Service Unavailable: {found.reason}")
        client_ip = request.remote or ""
        headers = forwarded_headers(request.headers, client_ip, host, self.port)
        has_body = request.body_exists
        tries = found[: 1 if has_body else MAX_TRIES]
        last_error = ""
        for ip, port in tries:
            url = f"http://{ip}:{port}{request.raw_path}"
            try:
                return await self._forward(request, url, headers, has_body)
            except aiohttp.ClientConnectorError as err:
                last_error = f"{ip}:{port}: {err.os_error or err}"
                log.warning("ingress.upstream_refused", backend=backend.service, upstream=f"{ip}:{port}")
            except _Started:
                raise
            except TimeoutError:
                return _text(
                    504, f"504 Gateway Timeout: {ip}:{port} of service {backend.service} did not answer"
                )
            except aiohttp.ClientError as err:
                return _text(502, f"502 Bad Gateway: {ip}:{port} of service {backend.service}: {err}")
        return _text(502, f"502 Bad Gateway: cannot reach service {backend.service}: {last_error}")

    async def _forward(
        self, request: web.BaseRequest, url: str, headers: dict[str, str], has_body: bool
    ) -> web.StreamResponse:
        assert self._client is not None
        data = request.content.iter_chunked(CHUNK) if has_body else None
        async with self._client.request(
            request.method, url, headers=headers, data=data, allow_redirects=False, compress=None
        ) as upstream:
            kept = CIMultiDict(
                (k, v)
                for k, v in upstream.headers.items()
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
            )
            size = upstream.content_length
            if size is not None and size <= CHUNK and request.method != "HEAD":  # small: one write
                try:
                    body = await upstream.read()
                except (aiohttp.ClientError, TimeoutError) as err:
                    return _text(502, f"502 Bad Gateway: {url}: {err}")
                return web.Response(status=upstream.status, reason=upstream.reason, headers=kept, body=body)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=kept)
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    await response.write(chunk)
            except (aiohttp.ClientError, TimeoutError) as err:  # the pod hung up mid-body
                log.warning("ingress.upstream_cut", url=url, error=str(err))
                raise _Started(str(err)) from err  # the status is sent: cut the client off too
            await response.write_eof()
            return response


class _Started(Exception):
    """The upstream failed after the response began: nothing to do but drop the connection."""


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n")
