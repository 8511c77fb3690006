"""The proxy actor in userspace mode: keeps each Service port's relay, backends and NAT rule in line
with the store.

The agents and the sync loop are :class:`~actors.proxy.base.ProxierBase`'s. Setup creates the nat
chain (flushing what a crashed proxy left); stop closes every listener and removes the chain and
its jumps.

:meth:`Proxier.sync` opens a relay for each new Service port (a free local port for the ClusterIP
redirect, plus the node port on every address for NodePort Services), closes the relays of Service
ports that are gone, hands the balancer the ready backends, drops UDP sessions to backends that
left, and rewrites the chain when the set of redirects changed. Updating backends is a dict write:
a change of Endpoints reaches new connections within one informer event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import structlog

from actors.proxy.balancer import LoadBalancer
from actors.proxy.base import ProxierBase, ProxyStats
from actors.proxy.iptables import DEFAULT_CHAIN, NatChain
from actors.proxy.plan import Backend, ServicePort, nat_rules
from actors.proxy.relay import TcpRelay, UdpRelay
from actors.runtime.shared import SharedInformers

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
Relay = TcpRelay | UdpRelay
__all__ = ["Proxier", "ProxyStats"]


@dataclass
class _Listener:
    relay: Relay
    local_port: int
    node_relay: Relay | None = None


class Proxier(ProxierBase):
    """The userspace mode."""

    def __init__(
        self,
        api: Any,
        *,
        chain: str = DEFAULT_CHAIN,
        bind_address: str = "0.0.0.0",
        node_ports: bool = True,
        udp_timeout: float = 1.0,
        informers: SharedInformers | None = None,
        nat: NatChain | None = None,
        resync_period: float = 30.0,
    ) -> None:
        super().__init__(api, node_ports=node_ports, informers=informers, resync_period=resync_period)
        self.nat = nat or NatChain(chain)
        self.bind_address = bind_address
        self.udp_timeout = udp_timeout
        self.lb = LoadBalancer()
        self.listeners: dict[ServicePort, _Listener] = {}

    async def _setup(self) -> None:
        await self.nat.setup()

    async def _resync(self) -> None:
        await self.nat.ensure_hooks()

    async def _teardown(self) -> None:
        for sp in list(self.listeners):
            self._close(sp)
        await self.nat.teardown()

    async def sync(self) -> None:
        started = self._changed_at
        self._changed_at = None
        want = self.desired()
        for sp in [sp for sp in self.listeners if sp not in want]:
            self._close(sp)
        for sp, bes in want.items():
            self.lb.update(sp.id, bes, sp.affinity_timeout)
            if sp not in self.listeners:
                await self._open(sp)
            listener = self.listeners.get(sp)
            if listener is not None:
                for relay in (listener.relay, listener.node_relay):
                    if isinstance(relay, UdpRelay):
                        relay.drop_backends_not_in(set(bes))
        rules = nat_rules(self.nat.chain, {sp: lst.local_port for sp, lst in self.listeners.items()})
        if rules != self._rules:
            await self.nat.write(rules)
            self._rules = rules
        self._synced(started)

    def _relay(self, sp: ServicePort) -> Relay:
        def pick(client_ip: str, exclude: frozenset[Backend]) -> Backend | None:
            return self.lb.next(sp.id, client_ip, time.monotonic(), exclude)

        def forget(client_ip: str) -> None:
            self.lb.forget(sp.id, client_ip)

        if sp.protocol == "UDP":
            return UdpRelay(str(sp.id), pick, forget, self.udp_timeout)
        return TcpRelay(str(sp.id), pick, forget)

    async def _open(self, sp: ServicePort) -> None:
        relay = self._relay(sp)
        try:
            port = await relay.listen(self.bind_address, 0)
        except OSError as exc:
            log.error("proxy.listen_failed", service=str(sp.id), error=str(exc))
            return
        listener = _Listener(relay, port)
        if sp.node_port and self.node_ports:
            node_relay = self._relay(sp)
            try:
                await node_relay.listen("0.0.0.0", sp.node_port)
                listener.node_relay = node_relay
            except OSError as exc:
                log.error(
                    "proxy.node_port_failed", service=str(sp.id), node_port=sp.node_port, error=str(exc)
                )
        self.listeners[sp] = listener
        log.info(
            "proxy.serving",
            service=str(sp.id),
            cluster_ip=f"{sp.cluster_ip}:{sp.port}/{sp.protocol}",
            local_port=port,
            node_port=sp.node_port if listener.node_relay else None,
        )

    def _close(self, sp: ServicePort) -> None:
        listener = self.listeners.pop(sp, None)
        if listener is None:
            return
        listener.relay.close()
        if listener.node_relay is not None:
            listener.node_relay.close()
        if not any(other.id == sp.id for other in self.listeners):
            self.lb.remove(sp.id)
        log.info("proxy.stopped_serving", service=str(sp.id))

    # ------------------------------------------------------------------ for tests and benchmarks

    def backends_of(self, namespace: str, name: str, port: str = "") -> list[Backend]:
        from actors.proxy.plan import ServicePortName

        return self.lb.backends(ServicePortName(namespace, name, port))
