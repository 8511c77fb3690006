"""Pod ports onto the sandbox's ExposedPorts/PortBindings (only ports with a hostPort publish).

In Kubernetes a hostPort is bound by the pod's sandbox; here the infra container publishes it
and the app containers, which share its network namespace, receive the traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int | None = None
    protocol: str = "TCP"  # TCP | UDP | SCTP
    host_ip: str = ""


def pod_port_mappings(pod: Mapping[str, Any]) -> list[PortMapping]:
    """Every containerPort of the pod's (init and app) containers that asks for a hostPort."""
    spec = pod.get("spec") or {}
    out: list[PortMapping] = []
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for p in c.get("ports") or []:
            if not p.get("hostPort"):
                continue
            out.append(
                PortMapping(
                    container_port=int(p["containerPort"]),
                    host_port=int(p["hostPort"]),
                    protocol=str(p.get("protocol") or "TCP").upper(),
                    host_ip=str(p.get("hostIP") or ""),
                )
            )
    return out


def port_config(mappings: Iterable[PortMapping]) -> tuple[dict[str, dict], dict[str, list[dict[str, str]]]]:
    """(Config.ExposedPorts, HostConfig.PortBindings) for the given mappings."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for m in mappings:
        key = f"{m.container_port}/{m.protocol.lower()}"
        exposed[key] = {}
        if m.host_port:
            binding = {"HostIp": m.host_ip, "HostPort": str(m.host_port)}
            if binding not in bindings.setdefault(key, []):
                bindings[key].append(binding)
    return exposed, bindings
