"""The status a new pod starts with: Pending, and its QoS class (Kubernetes' rules)."""

from __future__ import annotations

from typing import Any

RESOURCES = ("cpu", "memory")


def qos_class(pod: dict[str, Any]) -> str:
    """Guaranteed when every container limits and requests cpu and memory equally; BestEffort when
    no container asks for any; Burstable otherwise."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        requests = res.get("requests") or {}
        limits = res.get("limits") or {}
        if any(requests.get(r) for r in RESOURCES) or any(limits.get(r) for r in RESOURCES):
            any_set = True
        for r in RESOURCES:
            limit = limits.get(r)
            request = requests.get(r, limit)
            if not limit or str(request) != str(limit):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def initial_pod_status(pod: dict[str, Any]) -> dict[str, Any]:
    return {"phase": "Pending", "qosClass": qos_class(pod)}
