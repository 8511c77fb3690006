"""Hairpin mode on the pods' bridge ports, so that a pod reaches itself through its own Service.

In iptables mode a packet from a pod to a ClusterIP whose chosen endpoint is that same pod is
DNATed while it crosses the bridge (br_netfilter) and must leave by the port it came in on; a Linux
bridge drops such a frame unless the port's ``hairpin_mode`` is on. Kubernetes' kubelet turns it on
for every pod (``--hairpin-mode=hairpin-veth``); jetkube's kubelet leaves Docker's bridge as Docker
sets it up, so the iptables proxy does it after a sync that changed endpoints: on the ports of the
bridges that hold an endpoint of a Service (:func:`bridges_for`, pure: the host's directly
connected routes and the endpoint IPs), not on every bridge of the host. Best effort: a read-only
/sys (a proxy in an unprivileged container) is logged once.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterable
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

SYS_NET = Path("/sys/class/net")


def bridges_for(routes: str, ips: Iterable[str], bridges: set[str]) -> set[str]:
    """The bridges among ``bridges`` whose connected subnet (``ip -4 -o route show`` lines of the
    form ``<cidr> dev <name> ...``) holds one of ``ips``."""
    nets = []
    for line in routes.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "dev" and parts[2] in bridges and "/" in parts[0]:
            try:
                nets.append((ipaddress.IPv4Network(parts[0], strict=False), parts[2]))
            except ValueError:
                continue
    out = set()
    for ip in ips:
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            continue
        out |= {dev for net, dev in nets if addr in net}
    return out


class Hairpin:
    def __init__(self, sys_net: Path = SYS_NET) -> None:
        self.sys_net = sys_net
        self._warned = False

    def enable(self, endpoint_ips: Iterable[str]) -> int:
        """Turn hairpin mode on for the ports of the bridges holding these IPs; how many changed."""
        try:
            bridges = {d.name for d in self.sys_net.iterdir() if (d / "bridge").exists()}
            routes = subprocess.run(
                ["ip", "-4", "-o", "route", "show"], capture_output=True, text=True, timeout=5
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return 0
        done = 0
        for bridge in sorted(bridges_for(routes, endpoint_ips, bridges)):
            try:
                ports = list((self.sys_net / bridge / "brif").iterdir())
            except OSError:
                continue
            for port in ports:
                mode = port / "hairpin_mode"
                try:
                    if mode.read_text().strip() != "1":
                        mode.write_text("1")
                        done += 1
                except FileNotFoundError:  # gone meanwhile
                    continue
                except OSError as exc:
                    if not self._warned:
                        log.warning("proxy.hairpin_not_set", port=port.name, error=exc.strerror or str(exc))
                        self._warned = True
                    return done
        return done
