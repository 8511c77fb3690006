"""The dashboard's web server: one static page, its JSON API (api.py) and its live stream (stream.py).

Lifecycle, from a process that has a :class:`~actors.runtime.supervisor.Supervisor` and a bus::

    dash = Dashboard(ApiClient(bus), host="127.0.0.1", port=8001)
    url = await dash.bind()     # listening now; ServiceUnavailable when the port is taken
    dash.start(sup)             # one agent: its informers, the events follower, the server

``bind`` is separate so that the caller learns at once when the address is unusable (``jetkube
dashboard`` exits with one line; ``jetkube up`` goes on without a dashboard). The keeper agent
holds the aiohttp runner and, when the supervisor stops it, ends the open streams and closes the
server (with a short grace period, not aiohttp's default minute).

The page is static HTML, CSS and vanilla JavaScript shipped as package data in ``static/``: no
build step, no CDN (clusters often have no Internet). It needs no polling: the page opens
``/api/watch`` (server-sent events), whose snapshot and changes come from the feed's informers.

Safety (guard.py): every request must name one of the dashboard's own hosts (DNS rebinding), and
beyond loopback a write needs the token of the printed URL. The server binds to loopback by
default and has no login of its own. Requests that change something must carry JSON (a cross-site form
cannot) and, when the browser sends an ``Origin``, one whose host is the one the page was served
from, so another site open in the same browser cannot drive the dashboard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from actors.dashboard.api import Api, status_response
from actors.dashboard.feed import Feed
from actors.dashboard.guard import Guard
from actors.dashboard.stream import Streams
from actors.metrics.collector import HistoryCollector
from actors.metrics.history import History
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor
from schemas.errors import Forbidden, InternalError, JetkubeError, ServiceUnavailable, Unauthorized

log = structlog.get_logger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
SHUTDOWN_GRACE = 1.0
DEFAULT_PORT = 8001

GUARD: web.AppKey[Guard] = web.AppKey("guard", Guard)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JetkubeError -> its Status with its HTTP code; a bug -> 500 with one line, logged."""
    try:
        guard: Guard | None = request.app.get(GUARD)
        if guard is not None:
            refusal = guard.host_refusal(request.headers.get("Host"))
            if refusal:
                log.warning("dashboard.host_refused", host=request.headers.get("Host"), path=request.path)
                raise Forbidden(refusal)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            check_origin(request)
            refusal = guard.token_refusal(dict(request.headers)) if guard is not None else None
            if refusal:
                raise Unauthorized(refusal)
        return await handler(request)
    except web.HTTPException:
        raise
    except JetkubeError as err:
        return status_response(err)
    except TimeoutError:
        return status_response(ServiceUnavailable(f"{request.path}: no answer in time"))
    except Exception as exc:
        log.error("dashboard.handler_failed", path=request.path, exc_info=exc)
        return status_response(InternalError(f"{type(exc).__name__}: {exc}"))


def check_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser's cross-origin request (curl, the page's own GET)
        return
    if urlsplit(origin).netloc != request.host:
        raise Forbidden(
            f"Origin: Forbidden value: {origin!r}: writes only come from the dashboard's own page"
        )


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def build_app(api: Api, streams: Streams, guard: Guard | None = None) -> web.Application:
    app = web.Application(middlewares=[errors])
    if guard is not None:
        app[GUARD] = guard
    app.add_routes([web.get("/", index), web.get("/api/watch", streams.handle), *api.routes()])
    app.router.add_static("/static/", STATIC, append_version=False)
    return app


class Dashboard:
    def __init__(
        self,
        api: Any,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        informers: SharedInformers | None = None,
        sync_timeout: float = 30.0,
        allowed_hosts: list[str] | None = None,
        collector: HistoryCollector | None = None,
    ) -> None:
        self.host = host
        self.guard = Guard.for_address(host, allowed_hosts)
        self.port = port
        self.informers = informers if informers is not None else SharedInformers(api)
        self.feed = Feed(self.informers, api.bus)
        # the charts' figures: the process's collector (jetkube up), else one of the dashboard's own
        self.own_collector = collector is None
        self.collector = collector or HistoryCollector(api, api.bus, History())
        self.collector.listeners.append(self.feed.publish_samples)
        self.streams = Streams(self.feed, sync_timeout=sync_timeout)
        api_routes = Api(api, self.feed, sync_timeout=sync_timeout, history=self.collector.history)
        self.app = build_app(api_routes, self.streams, self.guard)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def bind(self) -> str:
        """Listen on the address; the page's URL. ServiceUnavailable when that is impossible."""
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as err:
            await runner.cleanup()
            raise ServiceUnavailable(
                f"the dashboard cannot listen on {self.host}:{self.port}: {err.strerror or err}"
                " (choose another port with --port)"
            ) from None
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.port = int(port)
        shown = f"[{host}]" if ":" in str(host) else str(host)
        self.url = f"http://{shown}:{self.port}/"
        if self.guard.token:  # beyond loopback: writes need the token, which the page reads here
            self.url += f"#token={self.guard.token}"
        log.info("dashboard.listening", url=self.url)
        return self.url

    def start(self, sup: Supervisor) -> None:
        """Run the dashboard as one agent of ``sup`` (see :meth:`run`)."""
        sup.spawn("dashboard", self.run, restart=False)

    async def run(self) -> None:
        """Agent: the informers and the events follower under a supervisor of the dashboard's own
        (their names must not clash with the control plane's informers in ``jetkube up``); hold the
        server until cancelled, then end the streams, close it and stop them."""
        inner = Supervisor("dashboard")
        self.informers.start(inner)
        inner.spawn("dashboard.events", self.feed.follow_events)
        if self.own_collector:
            self.collector.start(inner)
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()
            await inner.stop()

    async def close(self) -> None:
        self.streams.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
