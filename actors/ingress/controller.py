"""The ingress actor: the routing table kept current from informers, the proxy, the status.

One :class:`IngressController` per process that serves Ingresses (``jetkube up``, or
``jetkube controlplane --ingress-port``). It reads four shared informers of the process (ingresses,
ingressclasses, services, endpoints) and never the store directly:

- **table**: any change to an Ingress or IngressClass marks the compiled table stale; the next
  request compiles it again (routes.py, a pure function of the cached objects). Services and
  Endpoints are read per request from their caches, so a pod becoming ready is seen at once.
- **proxy**: proxy.py, on ``host:port``.
- **status**: a workqueue of Ingress keys; ``reconcile`` makes ``status.loadBalancer.ingress``
  hold this instance's address (``{ip, ports: [{port, protocol: TCP}]}``) while the Ingress is
  served here and not otherwise, with a compare-and-set status write. Each instance adds only its
  own entry, so several instances (one per control-plane replica) write without a lease; an
  instance that goes away leaves its entry behind (honest limit, in the README).

Lifecycle: :meth:`start` spawns the status workers and the proxy on the supervisor; both wait for
the informers' initial sync.
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from actors.ingress.proxy import IngressProxy
from actors.ingress.routes import RouteTable, compile_routes, serves
from actors.runtime.controller import Controller, run_controller
from actors.runtime.supervisor import Supervisor
from schemas.errors import NotFound

log = structlog.get_logger(__name__)

Obj = dict[str, Any]


def lb_entry(ip: str, port: int) -> Obj:
    return {"ip": ip, "ports": [{"port": port, "protocol": "TCP"}]}


def desired_status(ingress: Obj, ip: str, port: int, served: bool) -> Obj | None:
    """The Ingress's new ``status`` with this instance's entry added or removed; None if unchanged."""
    status = copy.deepcopy(ingress.get("status") or {})
    lb = status.setdefault("loadBalancer", {})
    entries = [e for e in lb.get("ingress") or [] if e.get("ip") != ip]
    if served:
        entries.append(lb_entry(ip, port))
    entries.sort(key=lambda e: (str(e.get("ip") or ""), str(e.get("hostname") or "")))
    if entries == ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress", []):
        return None
    if entries:
        lb["ingress"] = entries
    else:
        lb.pop("ingress", None)
    return status


class IngressController(Controller):
    def __init__(
        self,
        informers: Any,
        api: Any,
        *,
        address: str,
        port: int,
        host: str = "0.0.0.0",
        name: str = "ingress",
    ) -> None:
        super().__init__(name=f"ingress-{name}", workers=1)
        self.api = api
        self.address = address
        self.port = port
        self.ingresses = self.watch(informers.informer("ingresses"))
        self.classes = informers.informer("ingressclasses")
        self.services = informers.informer("services")
        self.endpoints = informers.informer("endpoints")
        for inf in (self.classes, self.services, self.endpoints):
            self.informers.append(inf)
        self._table: RouteTable | None = None
        self.ingresses.add_handler(self._stale, lambda old, new: self._stale(new), self._stale)
        self.classes.add_handler(
            self._classes_changed, lambda o, n: self._classes_changed(n), self._classes_changed
        )
        self.proxy = IngressProxy(self.table, self.services.get, self.endpoints.get, host=host, port=port)

    # ------------------------------------------------------------------ the table

    def _stale(self, _obj: Obj) -> None:
        self._table = None

    def _classes_changed(self, _obj: Obj) -> None:
        self._table = None
        for key in self.ingresses.keys():  # which Ingresses are served may have changed
            self.queue.add(key)

    def class_controllers(self) -> dict[str, str]:
        return {
            str(c["metadata"]["name"]): str((c.get("spec") or {}).get("controller") or "")
            for c in self.classes.list()
        }

    def table(self) -> RouteTable:
        table = self._table
        if table is None:
            table = self._table = compile_routes(self.ingresses.list(), self.class_controllers())
            if table.skipped:
                log.warning("ingress.rules_skipped", reasons=table.skipped)
        return table

    # ------------------------------------------------------------------ status

    async def reconcile(self, key: str) -> None:
        ingress = self.ingresses.get(key)
        if ingress is None:
            return
        status = desired_status(ingress, self.address, self.port, serves(ingress, self.class_controllers()))
        if status is None:
            return
        updated = copy.deepcopy(ingress)
        updated["status"] = status
        try:
            await self.api.update_status("ingresses", updated)
        except NotFound:
            return
        log.info("ingress.status_written", ingress=key, address=f"{self.address}:{self.port}")

    # ------------------------------------------------------------------ agents

    async def serve(self) -> None:
        for informer in self.informers:
            await informer.wait_synced()
        await self.proxy.run()

    def start(self, sup: Supervisor) -> None:
        sup.spawn(f"{self.name}:status", lambda: run_controller(self))
        sup.spawn(f"{self.name}:proxy", self.serve)
