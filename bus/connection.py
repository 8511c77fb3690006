"""The NATS connection every process holds: one ``Bus`` with the core client and JetStream.

Lifecycle: ``Bus.connect(url)`` connects; ``url`` may list several servers of one cluster,
comma-separated, and the client fails over between them. A refused or unreachable server is a
``ServiceUnavailable`` naming the URL, in one line. Once connected nats-py reconnects on its own,
forever, with a jittered wait; disconnects and reconnects are logged and counted
(``reconnects``). ``close()`` drains subscriptions and closes.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

import nats
import nats.errors
import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from schemas.errors import ServiceUnavailable

log = structlog.get_logger(__name__)

DEFAULT_URL = "nats://127.0.0.1:4222"
DRAIN_SECONDS = 3.0


def default_url() -> str:
    return os.environ.get("JETKUBE_SERVER") or DEFAULT_URL


@dataclass
class Bus:
    nc: NATS
    js: JetStreamContext
    url: str
    name: str = "jetkube"
    reconnects: int = 0
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
        url = url or default_url()
        holder: dict[str, Bus] = {}

        async def disconnected() -> None:
            bus = holder.get("bus")
            if bus is None or not bus._closed:
                log.warning("nats.disconnected", url=url)

        async def reconnected() -> None:
            bus = holder.get("bus")
            if bus is not None:
                bus.reconnects += 1
            log.info("nats.reconnected", url=url)

        async def error_cb(err: Exception) -> None:
            log.debug("nats.error", url=url, error=str(err))

        servers = [u.strip() for u in url.split(",") if u.strip()]
        try:
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
            raise ServiceUnavailable(
                f"cannot reach NATS at {url} ({type(err).__name__}): is the cluster running? "
                "Start one with `jetkube up`, or pass --server / JETKUBE_SERVER"
            ) from err
        except nats.errors.Error as err:
            raise ServiceUnavailable(f"cannot connect to NATS at {url}: {err}") from err
        nc.options["max_reconnect_attempts"] = max_reconnect_attempts
        bus = cls(nc=nc, js=nc.jetstream(timeout=10.0), url=url, name=name)
        holder["bus"] = bus
        return bus

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
            await self.nc.close()

    async def __aenter__(self) -> Bus:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
