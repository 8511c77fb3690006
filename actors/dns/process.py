"""Starting the cluster DNS inside a process: ``start_dns(sup, bus)``.

Spawns the server (actors/dns/server.py) and ``dns:register``, which, once the server is bound,
publishes it as the ``kube-dns`` Services' Endpoints (registration.py) and checks them again every
``reregister_every`` seconds (a deleted Service or changed Endpoints are put back). The address
published is ``advertise_ip`` (default: the host's primary address, which pods on the bridge and
the host's proxy both reach); the port is the one bound (``port=0``: any free port).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from actors.dns.records import DEFAULT_DOMAIN
from actors.dns.registration import DEFAULT_DNS_IP, register
from actors.dns.server import DnsServer
from actors.runtime.supervisor import Supervisor
from schemas.errors import JetkubeError

log = structlog.get_logger(__name__)


def start_dns(
    sup: Supervisor,
    bus: Any,
    *,
    host: str = "0.0.0.0",
    port: int = 0,
    advertise_ip: str | None = None,
    cluster_ip: str = DEFAULT_DNS_IP,
    domain: str = DEFAULT_DOMAIN,
    upstream: list[str] | None = None,
    reregister_every: float = 30.0,
    api: Any | None = None,
) -> DnsServer:
    from actors.kubelet.process import host_ip
    from bus.client import ApiClient

    client = api or ApiClient(bus)
    server = DnsServer(client, host=host, port=port, domain=domain, upstream=upstream)
    server.start(sup)
    ip = advertise_ip or host_ip()

    async def keep_registered() -> None:
        while True:
            bound = await server.ready(timeout=None)
            try:
                await register(client, ip, bound, cluster_ip)
            except JetkubeError as exc:  # the api not up yet, a conflict storm: try again soon
                log.warning("dns.register_failed", error=exc.message)
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(reregister_every)

    sup.spawn("dns:register", keep_registered)
    return server
