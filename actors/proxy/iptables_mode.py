"""The proxy actor in iptables mode (Kubernetes 1.2's default, and jetkube's): the kernel carries
every packet; this process only keeps the rules in line with the store.

The agents and the sync loop are :class:`~actors.proxy.base.ProxierBase`'s, as in userspace mode
(two informers that mark the proxy dirty, one ``proxy:sync`` agent, level-triggered: a burst of
changes is one sync). A sync
computes the Service ports and their ready backends from the *current* caches, turns them into
the whole ruleset (actors/proxy/rules.py) and hands it to one ``iptables-restore --noflush`` when
it differs from the last one written; then flushes the UDP conntrack entries the change made stale.
Setup removes what a crashed proxy of the same chain names left; stop (or a crash, before the
supervisor restarts the agent) removes the jumps and every chain.

What the userspace mode does that this one does not: retry another endpoint when one refuses a
connection (a killed pod's clients fail until its Endpoints change, as with kube-proxy).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from actors.proxy.base import ProxierBase
from actors.proxy.conntrack import Conntrack
from actors.proxy.hairpin import Hairpin
from actors.proxy.iptables import DEFAULT_CHAIN, IptablesTables
from actors.proxy.plan import Backend, ServicePort, ServicePortName
from actors.proxy.rules import chain_names, ruleset, udp_conntrack_deletes
from actors.runtime.shared import SharedInformers

log = structlog.get_logger(__name__)

DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"


class IptablesProxier(ProxierBase):
    def __init__(
        self,
        api: Any,
        *,
        chain: str = DEFAULT_CHAIN,
        cluster_cidr: str = DEFAULT_CLUSTER_CIDR,
        node_ports: bool = True,
        informers: SharedInformers | None = None,
        tables: IptablesTables | None = None,
        conntrack: Conntrack | None = None,
        resync_period: float = 30.0,
        hairpin: Hairpin | None = None,
    ) -> None:
        super().__init__(api, node_ports=node_ports, informers=informers, resync_period=resync_period)
        self.names = chain_names(chain)
        self.tables = tables or IptablesTables(self.names)
        self.conntrack = conntrack or Conntrack()
        self.hairpin = hairpin or Hairpin()
        self.cluster_cidr = cluster_cidr
        self.current: dict[ServicePort, list[Backend]] = {}
        self._chains: set[str] = set()  # per-Service chains written last (deleted when they go)

    async def _setup(self) -> None:
        self.current = {}
        await self.tables.setup()
        self._chains = await self.tables.existing()

    async def _teardown(self) -> None:
        await self.tables.teardown()

    async def _resync(self) -> None:
        await self.tables.ensure_hooks()

    async def sync(self) -> None:
        started = self._changed_at
        self._changed_at = None
        want = self.desired()
        rules = ruleset(
            self.names, want, cluster_cidr=self.cluster_cidr, node_ports=self.node_ports, stale=self._chains
        )
        if rules != self._rules:
            await self.tables.restore(rules)
            self._rules = rules
            self._chains = {
                line[1:].split(" ", 1)[0]
                for line in rules.splitlines()
                if line.startswith(":") and self.names.is_per_service(line[1:].split(" ", 1)[0])
            } - {line[3:] for line in rules.splitlines() if line.startswith("-X ")}
            log.info("proxy.rules_written", service_ports=len(want), chains=len(self._chains))
        old, self.current = self.current, want
        for args in udp_conntrack_deletes(old, want, node_ports=self.node_ports):
            await self.conntrack.delete(args)
        if old != want:  # endpoints changed: a new pod may sit on a port without hairpin mode
            ips = {ip for bes in want.values() for ip, _ in bes}
            await asyncio.to_thread(self.hairpin.enable, ips)
        self._synced(started)

    def backends_of(self, namespace: str, name: str, port: str = "") -> list[Backend]:
        key = ServicePortName(namespace, name, port)
        return sorted({be for sp, bes in self.current.items() if sp.id == key for be in bes})
