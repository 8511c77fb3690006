"""The kubelet's Node object and its heartbeat status. No I/O.

Capacity comes from the engine (cpu count, memory in Ki) plus ``pods: 110``; allocatable equals
capacity (jetkube reserves nothing for the system). Labels: ``kubernetes.io/hostname``,
``kubernetes.io/os``, ``kubernetes.io/arch`` (and their ``beta.`` twins) plus ``--node-labels``.
The Ready condition is True (KubeletReady) while the engine answers, False (KubeletNotReady, with
the engine's error) when it does not; ``lastHeartbeatTime`` moves on every heartbeat,
``lastTransitionTime`` only when the status flips (schemas.status.set_condition).
"""

from __future__ import annotations

import copy
import platform
from collections.abc import Mapping
from typing import Any

from actors.kubelet.types import NodeCapacity
from schemas.status import set_condition

Obj = dict[str, Any]

KUBELET_VERSION = "jetkube-0.1.0"
MAX_PODS = 110
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def arch() -> str:
    m = platform.machine()
    return _ARCH.get(m, m)


def parse_node_labels(text: str | None) -> dict[str, str]:
    """``k=v,k2=v2`` (the --node-labels flag) as a dict."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        k, _, v = part.partition("=")
        out[k.strip()] = v.strip()
    return out


def node_labels(node_name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    a = arch()
    return {
        "kubernetes.io/hostname": node_name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": a,
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": a,
        **dict(extra or {}),
    }


def capacity(cap: NodeCapacity) -> dict[str, str]:
    return {"cpu": str(cap.cpus), "memory": f"{cap.memory_bytes // 1024}Ki", "pods": str(MAX_PODS)}


def ready_condition(ready: bool, message: str, now: str) -> Obj:
    if ready:
        return {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": now,
        }
    return {
        "type": "Ready",
        "status": "False",
        "reason": "KubeletNotReady",
        "message": message or "container runtime is down",
        "lastHeartbeatTime": now,
    }


PRESSURE = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)


def node_status(
    old: Obj | None,
    cap: NodeCapacity,
    *,
    node_name: str,
    host_ip: str,
    ready: bool,
    message: str,
    now: str,
) -> Obj:
    status: Obj = copy.deepcopy(old or {})
    c = capacity(cap)
    status["capacity"] = c
    status["allocatable"] = dict(c)
    status["addresses"] = [
        {"type": "InternalIP", "address": host_ip},
        {"type": "Hostname", "address": node_name},
    ]
    status["nodeInfo"] = {
        "kubeletVersion": KUBELET_VERSION,
        "kubeProxyVersion": KUBELET_VERSION,
        "containerRuntimeVersion": f"docker://{cap.server_version}",
        "operatingSystem": "linux",
        "architecture": arch(),
        "kernelVersion": cap.kernel_version,
        "osImage": cap.operating_system,
        "machineID": "",
        "systemUUID": "",
        "bootID": "",
    }
    status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": 0}}
    conds = status.get("conditions") or []
    for type_, reason, msg in PRESSURE:
        conds = set_condition(
            conds,
            {"type": type_, "status": "False", "reason": reason, "message": msg, "lastHeartbeatTime": now},
            now=now,
        )
    conds = set_condition(conds, ready_condition(ready, message, now), now=now)
    status["conditions"] = conds
    return status


def node_object(node_name: str, labels: Mapping[str, str], status: Obj) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node_name, "labels": dict(labels)},
        "spec": {},
        "status": status,
    }
