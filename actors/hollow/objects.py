"""What a hollow node writes, built without I/O: its Node and heartbeats (pod statuses are the
kubelet's own, actors/kubelet/pod_status.py).

Addresses come from fixed fake ranges: node ``i`` of a fleet is ``172.16.<i/256>.<i%256>`` with the
pod CIDR ``10.<64 + i/256>.<i%256>.0/24``; its pods take the addresses of that /24 in turn.
"""

from __future__ import annotations

from typing import Any

from schemas.status import now_rfc3339

Obj = dict[str, Any]

HOLLOW_LABEL = "type"
HOLLOW_VALUE = "hollow"
DEFAULT_CAPACITY = {"cpu": "4", "memory": "16Gi", "pods": "110"}
RUNTIME_VERSION = "hollow://1.0"


def node_ip(index: int) -> str:
    return f"172.16.{(index // 256) % 256}.{index % 256}"


def pod_cidr_base(index: int) -> str:
    return f"10.{64 + (index // 256) % 192}.{index % 256}"


def pod_ip(index: int, slot: int) -> str:
    """The ``slot``-th address of node ``index``'s /24 (1..254, reused round-robin)."""
    return f"{pod_cidr_base(index)}.{1 + slot % 254}"


def _conditions(now: str, ready: bool = True) -> list[Obj]:
    def cond(type_: str, status: str, reason: str, message: str) -> Obj:
        return {
            "type": type_,
            "status": status,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }

    return [
        cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "hollow node has sufficient memory"),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "hollow node has no disk pressure"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "hollow node has sufficient PID"),
        cond("Ready", "True" if ready else "False", "KubeletReady", "hollow kubelet is posting ready status"),
    ]


def hollow_node(name: str, index: int, capacity: dict[str, str] | None = None) -> Obj:
    """A Ready Node as a hollow kubelet registers it."""
    now = now_rfc3339()
    cap = dict(capacity or DEFAULT_CAPACITY)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                HOLLOW_LABEL: HOLLOW_VALUE,
            },
        },
        "spec": {"podCIDR": f"{pod_cidr_base(index)}.0/24"},
        "status": {
            "capacity": cap,
            "allocatable": dict(cap),
            "phase": "Running",
            "conditions": _conditions(now),
            "addresses": [
                {"type": "InternalIP", "address": node_ip(index)},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.30.0-hollow",
                "containerRuntimeVersion": RUNTIME_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
                "osImage": "hollow",
                "kernelVersion": "hollow",
            },
        },
    }


def heartbeat(node: Obj, now: str | None = None) -> Obj:
    """``node`` (read-only) with every condition's lastHeartbeatTime moved to now and Ready=True."""
    now = now or now_rfc3339()
    new = dict(node)
    status = dict(node.get("status") or {})
    conditions = []
    for cond in status.get("conditions") or []:
        c = dict(cond)
        c["lastHeartbeatTime"] = now
        if c.get("type") == "Ready" and c.get("status") != "True":
            c.update(status="True", lastTransitionTime=now, reason="KubeletReady")
        conditions.append(c)
    if not any(c.get("type") == "Ready" for c in conditions):
        conditions = _conditions(now)
    status["conditions"] = conditions
    new["status"] = status
    return new


def pod_uid(pod: Obj) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def pod_key(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"
