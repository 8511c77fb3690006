"""Builders of Node and Pod dicts for the scheduler's decision tables."""

from __future__ import annotations

from typing import Any


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str | None = "110",
    labels: dict[str, str] | None = None,
    ready: str | None = "True",
    unschedulable: bool = False,
    taints: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    alloc: dict[str, str] = {"cpu": cpu, "memory": memory}
    if pods is not None:
        alloc["pods"] = pods
    status: dict[str, Any] = {"allocatable": alloc}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready}]
    spec: dict[str, Any] = {}
    if unschedulable:
        spec["unschedulable"] = True
    if taints:
        spec["taints"] = taints
    return {
        "kind": "Node",
        "metadata": {"name": name, "labels": dict(labels or {})},
        "spec": spec,
        "status": status,
    }


def pod(
    name: str = "p",
    *,
    cpu: str | None = None,
    memory: str | None = None,
    owner: str | None = None,
    node_name: str | None = None,
    phase: str | None = None,
    host_port: int | None = None,
    host_ip: str | None = None,
    protocol: str | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "c", "image": "i", "resources": {"requests": requests}}
    if host_port:
        port: dict[str, Any] = {"containerPort": 80, "hostPort": host_port}
        if host_ip:
            port["hostIP"] = host_ip
        if protocol:
            port["protocol"] = protocol
        container["ports"] = [port]
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": owner, "controller": True}]
    if annotations:
        meta["annotations"] = annotations
    full_spec: dict[str, Any] = {"containers": [container], **spec}
    if node_name:
        full_spec["nodeName"] = node_name
    out: dict[str, Any] = {"kind": "Pod", "metadata": meta, "spec": full_spec}
    if phase:
        out["status"] = {"phase": phase}
    return out


def required(
    *terms: list[tuple[str, str, list[str]]], fields: list[tuple[str, str, list[str]]] | None = None
) -> dict:
    """spec.affinity with required nodeSelectorTerms (each a list of (key, operator, values))."""
    node_terms = []
    for term in terms:
        t: dict[str, Any] = {"matchExpressions": [{"key": k, "operator": o, "values": v} for k, o, v in term]}
        node_terms.append(t)
    if fields:
        node_terms.append({"matchFields": [{"key": k, "operator": o, "values": v} for k, o, v in fields]})
    return {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": node_terms}}
    }
