"""Starting the service proxy inside a process: ``start_proxy(sup, bus, mode=...)``.

Used by ``jetkube up`` (with the DNS server, see actors/dns/process.py) and ``jetkube proxy``. One
proxy per host: it owns the chains named from ``chain`` (tests give each proxy its own chain name).
``mode`` is ``iptables`` (the default: DNAT rules, actors/proxy/iptables_mode.py) or ``userspace``
(relays in this process, actors/proxy/proxier.py).
"""

from __future__ import annotations

from typing import Any

from actors.proxy.base import ProxierBase
from actors.proxy.iptables import DEFAULT_CHAIN
from actors.proxy.iptables_mode import DEFAULT_CLUSTER_CIDR, IptablesProxier
from actors.proxy.proxier import Proxier
from actors.runtime.supervisor import Supervisor
from schemas.errors import BadRequest

MODES = ("iptables", "userspace")
DEFAULT_MODE = "iptables"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise BadRequest(f"--proxy-mode: {mode!r} is not one of {', '.join(MODES)}")
    return mode


def check_cluster_cidr(cidr: str) -> str:
    import ipaddress

    if not cidr:
        return ""
    try:
        return str(ipaddress.IPv4Network(cidr, strict=False))
    except ValueError as exc:
        raise BadRequest(f"--cluster-cidr: {cidr!r} is not an IPv4 CIDR ({exc})") from None


def start_proxy(
    sup: Supervisor,
    bus: Any,
    *,
    chain: str = DEFAULT_CHAIN,
    mode: str = DEFAULT_MODE,
    cluster_cidr: str = DEFAULT_CLUSTER_CIDR,
    node_ports: bool = True,
    udp_timeout: float = 1.0,
    resync_period: float = 30.0,
    api: Any | None = None,
) -> ProxierBase:
    from bus.client import ApiClient

    check_mode(mode)
    client = api or ApiClient(bus)
    proxier: ProxierBase
    if mode == "iptables":
        proxier = IptablesProxier(
            client,
            chain=chain,
            cluster_cidr=check_cluster_cidr(cluster_cidr),
            node_ports=node_ports,
            resync_period=resync_period,
        )
    else:
        proxier = Proxier(
            client, chain=chain, node_ports=node_ports, udp_timeout=udp_timeout, resync_period=resync_period
        )
    proxier.start(sup)
    return proxier
