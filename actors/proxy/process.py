"""Starting the service proxy inside a process: ``start_proxy(sup, bus)``.

Used by ``jetkube up`` (with the DNS server, see actors/dns/process.py) and ``jetkube proxy``. One
proxy per host: it owns the nat chain ``chain`` (tests give each proxy its own chain name).
"""

from __future__ import annotations

from typing import Any

from actors.proxy.iptables import DEFAULT_CHAIN
from actors.proxy.proxier import Proxier
from actors.runtime.supervisor import Supervisor


def start_proxy(
    sup: Supervisor,
    bus: Any,
    *,
    chain: str = DEFAULT_CHAIN,
    node_ports: bool = True,
    udp_timeout: float = 1.0,
    api: Any | None = None,
) -> Proxier:
    from bus.client import ApiClient

    proxier = Proxier(api or ApiClient(bus), chain=chain, node_ports=node_ports, udp_timeout=udp_timeout)
    proxier.start(sup)
    return proxier
