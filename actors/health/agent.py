"""The health agent every jetkube process runs: live answers and heartbeats.

Two supervised tasks:

* ``health.responder`` answers requests on ``jetkube.health.<id>`` (this process) and on
  ``jetkube.health`` (every process answers: a client publishes once and gathers the replies
  that arrive before its deadline). The reply is ``{"object": <process report>}``, the wire form
  of bus.rpc, built at request time from the supervisor's children (report.py).
* ``health.heartbeat`` writes the same report every ``interval`` seconds to the KV bucket
  ``jetkube-health`` under the process id, compare-and-set on the revision it wrote last. The
  bucket's entries expire after :data:`BEAT_TTL` seconds, so a process that is gone for good ages
  out; one that stopped in order writes a last beat marked ``stopped``.

Neither task can take the process down: a failed heartbeat is logged and tried again at the
next interval. The health subjects and the bucket are public, as the api's are.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

import nats.errors
import nats.js.errors
import structlog

from actors.health.report import process_report
from actors.runtime.supervisor import Supervisor
from bus.codec import decode, encode
from bus.connection import Bus

log = structlog.get_logger(__name__)

HEALTH_SUBJECT = "jetkube.health"
BEATS_BUCKET = "jetkube-health"
BEAT_TTL = 600.0


def process_key(process_id: str) -> str:
    """A process id as one subject token and KV key: ``controlplane1``, ``kubelet-node_1``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", process_id) or "_"


async def open_beats(bus: Bus, *, replicas: int = 1) -> Any:
    """The heartbeat bucket, created (TTL :data:`BEAT_TTL`) if missing."""
    try:
        return await bus.js.key_value(BEATS_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        pass
    try:
        return await bus.js.create_key_value(
            bucket=BEATS_BUCKET, history=1, ttl=BEAT_TTL, replicas=replicas, direct=True
        )
    except nats.js.errors.BadRequestError:  # created meanwhile by another process
        return await bus.js.key_value(BEATS_BUCKET)


class HealthAgent:
    def __init__(
        self,
        bus: Bus,
        sup: Supervisor,
        *,
        process_id: str,
        role: str,
        identity: str | None = None,
        interval: float = 5.0,
        replicas: int = 1,
        extra: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.bus = bus
        self.sup = sup
        self.key = process_key(process_id)
        self.role = role
        self.identity = identity or process_id
        self.interval = interval
        self.replicas = replicas
        self.extra = extra
        self.started_at = time.time()
        self._rev: int | None = None

    def report(self) -> dict[str, Any]:
        return process_report(
            process_id=self.key,
            role=self.role,
            identity=self.identity,
            children=self.sup.children,
            started_at=self.started_at,
            now=time.time(),
            extra=self.extra() if self.extra is not None else None,
        )

    def start(self) -> None:
        self.sup.spawn("health.responder", self.serve)
        self.sup.spawn("health.heartbeat", self.beat)

    async def serve(self) -> None:
        nc = self.bus.nc

        async def answer(msg: Any) -> None:
            if not msg.reply:
                return
            with contextlib.suppress(nats.errors.Error):
                await nc.publish(msg.reply, encode({"object": self.report()}))

        subs = [
            await nc.subscribe(HEALTH_SUBJECT, cb=answer),
            await nc.subscribe(f"{HEALTH_SUBJECT}.{self.key}", cb=answer),
        ]
        try:
            await asyncio.Event().wait()  # answers come through the callbacks until cancelled
        finally:
            for sub in subs:
                with contextlib.suppress(nats.errors.Error):
                    await sub.unsubscribe()

    async def _write(self, kv: Any, value: dict[str, Any]) -> None:
        data = encode(value)
        if self._rev is None:
            try:
                self._rev = await kv.create(self.key, data)
                return
            except nats.js.errors.KeyWrongLastSequenceError:
                self._rev = (await kv.get(self.key)).revision
        try:
            self._rev = await kv.update(self.key, data, last=self._rev)
        except nats.js.errors.KeyWrongLastSequenceError:
            self._rev = None  # another writer (an old process with our id): read again next time
            raise

    async def beat(self) -> None:
        kv = None
        try:
            while True:
                try:
                    kv = kv or await open_beats(self.bus, replicas=self.replicas)
                    await self._write(kv, self.report())
                except (nats.errors.Error, OSError, TimeoutError) as err:
                    self._rev = None
                    log.warning("health.beat_failed", process=self.key, error=str(err) or type(err).__name__)
                await asyncio.sleep(self.interval)
        finally:
            if kv is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await self._write(kv, {**self.report(), "stopped": True, "healthy": False})


def decode_report(data: bytes) -> dict[str, Any] | None:
    value = decode(data)
    if isinstance(value, dict) and isinstance(value.get("object"), dict):
        return value["object"]
    return value if isinstance(value, dict) and "id" in value else None
