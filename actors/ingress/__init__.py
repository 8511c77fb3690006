"""The ingress actor: serves networking.k8s.io/v1 Ingresses as an HTTP reverse proxy on a port.

- routes.py: the pure routing table (hosts, Exact/Prefix paths, default backend) and upstreams;
- proxy.py: the aiohttp server that forwards to a ready endpoint's pod IP and target port;
- controller.py: keeps the table current from the process's shared informers and writes each
  Ingress's ``status.loadBalancer``.

:func:`start_ingress` is what ``jetkube up`` and ``jetkube controlplane --ingress-port`` call.
"""

from __future__ import annotations

from typing import Any

from actors.runtime.supervisor import Supervisor

DEFAULT_PORT = 8080


def advertised_address(host: str) -> str:
    """The address to put in the status: the bind address, or this host's primary one for any."""
    if host in ("", "0.0.0.0", "::"):
        from actors.kubelet.process import host_ip

        return host_ip()
    return host


def start_ingress(
    sup: Supervisor,
    informers: Any,
    api: Any,
    *,
    port: int = DEFAULT_PORT,
    host: str = "0.0.0.0",
    name: str = "",
) -> Any:
    """Build the IngressController on ``informers`` and spawn its agents; returns it."""
    from actors.ingress.controller import IngressController

    ctrl = IngressController(
        informers, api, address=advertised_address(host), port=port, host=host, name=name or "proxy"
    )
    ctrl.start(sup)
    return ctrl
