"""The NATS connection every process holds: one ``Bus`` with the core client and JetStream.

Lifecycle: ``Bus.connect(url)`` connects; ``url`` may list several servers of one cluster,
comma-separated, and the client fails over between them. A refused or unreachable server is a
``ServiceUnavailable`` naming the URL, in one line. Once connected nats-py reconnects on its own,
forever, with a jittered wait; disconnects and reconnects are logged and counted
(``reconnects``). ``close()`` drains subscriptions and closes.

Authentication: ``user``/``password`` (or ``nats://user:password@host:port`` in the URL) log in as a
NATS user of bus/auth.py. Such a bus carries ``identity`` (the user), uses the inbox prefix only
that user may subscribe to (``_INBOX.<user>``), and its ``ApiClient`` sends requests on the user's
own api subjects. ``raw_reads`` says whether the user may read the state bucket's stream directly
(no user, the control plane and admin may; others list and watch through the api). A refused
login is a ``Forbidden`` naming the user. Passwords never appear in logs or errors (``url`` is
shown without them).
"""

from __future__ import annotations

import asyncio
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import nats
import nats.errors
import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from bus import cancelsafe
from schemas.errors import Forbidden, ServiceUnavailable

log = structlog.get_logger(__name__)
cancelsafe.install()  # before any request: nats-py's own wait_for loses cancellations on 3.11

DEFAULT_URL = "nats://127.0.0.1:4222"
DRAIN_SECONDS = 3.0


def default_url() -> str:
    return os.environ.get("JETKUBE_SERVER") or DEFAULT_URL


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``nats://u:p@h:1,nats://h:2`` -> (``nats://h:1,nats://h:2``, u, p): the first user wins."""
    user = password = None
    plain: list[str] = []
    for part in [u.strip() for u in url.split(",") if u.strip()]:
        parsed = urllib.parse.urlsplit(part if "://" in part else f"nats://{part}")
        if parsed.username and user is None:
            user = urllib.parse.unquote(parsed.username)
            password = urllib.parse.unquote(parsed.password or "")
        host = parsed.hostname or "127.0.0.1"
        netloc = f"{host}:{parsed.port}" if parsed.port else host
        plain.append(urllib.parse.urlunsplit((parsed.scheme or "nats", netloc, parsed.path, "", "")))
    return ",".join(plain), user, password


RAW_READERS = frozenset({"admin", "controlplane"})


@dataclass
class Bus:
    nc: NATS
    js: JetStreamContext
    url: str
    name: str = "jetkube"
    reconnects: int = 0
    identity: str | None = None  # the NATS user, when authenticated
    _closed: bool = field(default=False, repr=False)

    @classmethod
    async def connect(
        cls,
        url: str | None = None,
        *,
        name: str = "jetkube",
        connect_timeout: float = 3.0,
        user: str | None = None,
        password: str | None = None,
        max_reconnect_attempts: int = -1,
        **options: Any,
    ) -> Bus:
        from bus.tls import client_context, split_ca

        url, ca = split_ca(url or default_url())
        url, url_user, url_password = split_credentials(url)
        tls = client_context(url, ca)
        if tls is not None:
            options.setdefault("tls", tls)
        user = user or url_user
        password = password if password is not None else url_password
        if user:
            from bus.auth import inbox_prefix

            options.setdefault("inbox_prefix", inbox_prefix(user))
        holder: dict[str, Bus] = {}

        async def disconnected() -> None:
            bus = holder.get("bus")
            if bus is None or not bus._closed:
                log.warning("nats.disconnected", url=url)
                from bus.metrics import nats_disconnected  # lazily: CLI commands never scrape

                nats_disconnected(name)

        async def reconnected() -> None:
            bus = holder.get("bus")
            if bus is not None:
                bus.reconnects += 1
            log.info("nats.reconnected", url=url)
            from bus.metrics import nats_reconnected

            nats_reconnected(name)

        errors: list[str] = []

        async def error_cb(err: Exception) -> None:
            errors.append(str(err))
            log.debug("nats.error", url=url, error=str(err))

        servers = [u.strip() for u in url.split(",") if u.strip()]
        # nats-py retries within its own budget, but a failed TLS handshake (a server that requires
        # TLS and a certificate that does not verify) can leave it waiting for ever: bound it.
        budget = 2 * len(servers) * (connect_timeout + 0.5) + 2.0
        try:
            async with asyncio.timeout(budget):
                nc = await nats.connect(
                    servers,
                    name=name,
                    connect_timeout=connect_timeout,
                    allow_reconnect=True,
                    # nats-py uses the same budget for the first connection: with -1 an unreachable
                    # server would be retried forever. Try each server twice at first, then switch to
                    # the long-lived policy once connected.
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0.5,
                    disconnected_cb=disconnected,
                    reconnected_cb=reconnected,
                    error_cb=error_cb,
                    user=user,
                    password=password,
                    **options,
                )
        except (TimeoutError, OSError, nats.errors.NoServersError) as err:
            tls_errors = [e for e in errors if "ssl" in e.lower() or "certificate" in e.lower()]
            if tls_errors:
                raise ServiceUnavailable(
                    f"TLS with NATS at {url} failed: {tls_errors[-1]}: give the server's CA "
                    "(the context's certificate-authority, tls://host:port?ca=FILE or JETKUBE_TLS_CA)"
                ) from err
            if any("authorization violation" in e.lower() for e in errors):
                raise Forbidden(
                    f"NATS at {url} refused the login of user {user or '(none)'}: "
                    "check the credentials (jetkube config view, --context, JETKUBE_CONFIG)"
                ) from err
            raise ServiceUnavailable(
                f"cannot reach NATS at {url} ({type(err).__name__}): is the cluster running? "
                "Start one with `jetkube up`, or pass --server / JETKUBE_SERVER"
            ) from err
        except nats.errors.Error as err:
            if "authorization" in str(err).lower():
                raise Forbidden(
                    f"NATS at {url} refused the login of user {user or '(none)'}: "
                    "check the credentials (jetkube config view, --context, JETKUBE_CONFIG)"
                ) from err
            raise ServiceUnavailable(f"cannot connect to NATS at {url}: {err}") from err
        nc.options["max_reconnect_attempts"] = max_reconnect_attempts
        bus = cls(nc=nc, js=nc.jetstream(timeout=10.0), url=url, name=name, identity=user or None)
        holder["bus"] = bus
        return bus

    @property
    def raw_reads(self) -> bool:
        """May this connection read the state bucket's stream itself (list/watch fast path)?"""
        return self.identity is None or self.identity in RAW_READERS

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            # nats-py's drain waits up to 30 s for subscriptions; a process that is stopping (a CLI
            # the user interrupted, an actor on SIGTERM) gives it a few seconds, then closes.
            async with asyncio.timeout(DRAIN_SECONDS):
                await self.nc.drain()
        except (TimeoutError, nats.errors.Error, OSError):
            try:
                await self.nc.close()
            except OSError as err:  # nats-py flushes what is pending into a transport already lost
                log.debug("nats.close_on_lost_connection", error=str(err))

    async def __aenter__(self) -> Bus:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
