"""What both proxy modes share: the informers, the dirty flag and the level-triggered sync loop.

Lifecycle (:meth:`ProxierBase.start` spawns the agents on a supervisor):

- ``proxy:informer:services/*`` and ``proxy:informer:endpoints/*``: informers over the api; their
  handlers only mark the proxy dirty (and note when the first unhandled change came);
- ``proxy:sync``: ``_setup`` (the mode's tables, flushing what a crashed proxy left), waits for the
  informers' initial sync, then each time it is marked dirty runs ``sync`` over the *current*
  caches (a burst of changes is one sync; a failed one is retried after 1 s), and after
  ``resync_period`` s (30) without a change a full rewrite, as kube-proxy's
  ``--iptables-sync-period`` (the iptables mode then also puts back a removed jump). On stop (or a
  crash, before the supervisor restarts it) ``_teardown`` removes what the mode set up.

:meth:`ProxierBase.desired` is the input of every sync: each proxied Service port and its ready
backends (actors/proxy/plan.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.proxy.iptables import ProxyError
from actors.proxy.plan import Backend, ServicePort, backends, service_ports
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor
from bus.cancelsafe import wait_for

log = structlog.get_logger(__name__)


@dataclass
class ProxyStats:
    syncs: int = 0
    last_sync_latency: float = 0.0  # seconds from the first unhandled change to the sync's end
    latencies: list[float] = field(default_factory=list)


class ProxierBase:
    def __init__(
        self,
        api: Any,
        *,
        node_ports: bool = True,
        informers: SharedInformers | None = None,
        resync_period: float = 30.0,
    ) -> None:
        self.resync_period = resync_period
        self.informers = informers or SharedInformers(api)
        self.services = self.informers.informer("services")
        self.endpoints = self.informers.informer("endpoints")
        self.node_ports = node_ports
        self.stats = ProxyStats()
        self._dirty = asyncio.Event()
        self._changed_at: float | None = None
        self._rules = ""
        for inf in (self.services, self.endpoints):
            inf.add_handler(
                on_add=lambda _o: self._mark(),
                on_update=lambda _o, _n: self._mark(),
                on_delete=lambda _o: self._mark(),
            )

    # ------------------------------------------------------------------ lifecycle

    def start(self, sup: Supervisor) -> None:
        for inf in (self.services, self.endpoints):  # own names: the process may hold other informers
            sup.spawn(f"proxy:{inf.name}", inf.run)
        sup.spawn("proxy:sync", self.run)

    def _mark(self) -> None:
        if self._changed_at is None:
            self._changed_at = time.monotonic()
        self._dirty.set()

    async def run(self) -> None:
        self._rules = ""
        try:
            await self._setup()  # inside the try: a stop while setting up still tears down
            await self.informers.wait_synced()
            self._dirty.set()
            full = False
            while True:
                try:
                    await wait_for(self._dirty.wait(), self.resync_period)
                except TimeoutError:
                    full = True
                self._dirty.clear()
                try:
                    if full:
                        self._rules = ""  # rewrite everything: what someone else removed comes back
                    await self.sync()
                    if full:
                        await self._resync()
                        full = False
                except ProxyError as exc:
                    log.error("proxy.sync_failed", error=exc.message)
                    await asyncio.sleep(1.0)
                    self._dirty.set()
        finally:
            await asyncio.shield(self._teardown())  # a second cancel must not leave rules behind

    async def _setup(self) -> None:
        raise NotImplementedError

    async def _resync(self) -> None:
        """After the periodic full rewrite: what else the mode checks (its jumps)."""

    async def _teardown(self) -> None:
        raise NotImplementedError

    async def sync(self) -> None:
        raise NotImplementedError

    def backends_of(self, namespace: str, name: str, port: str = "") -> list[Backend]:
        """The ready backends the proxy now sends a Service port's new connections to."""
        raise NotImplementedError

    def _synced(self, started: float | None) -> None:
        self.stats.syncs += 1
        if started is not None:
            self.stats.last_sync_latency = time.monotonic() - started
            self.stats.latencies = [*self.stats.latencies[-999:], self.stats.last_sync_latency]

    # ------------------------------------------------------------------ the sync

    def desired(self) -> dict[ServicePort, list[Backend]]:
        out: dict[ServicePort, list[Backend]] = {}
        for svc in self.services.list():
            ports = service_ports(svc)
            if not ports:
                continue
            meta = svc["metadata"]
            ep = self.endpoints.get(f"{meta.get('namespace') or 'default'}/{meta['name']}")
            for sp in ports:
                out[sp] = backends(ep, sp.id.port, sp.protocol)
        return out
