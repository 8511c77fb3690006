"""``metrics.k8s.io/v1beta1``: NodeMetrics and PodMetrics from the kubelets' last samples, as
metrics-server serves them, so ``kubectl top`` works.

The samples come from :func:`actors.metrics.top.collect_top` (each Ready node's kubelet asked on
``jetkube.node.<node>.stats``, what ``jetkube top`` reads). What the user may see is decided by the
api: the Nodes and Pods listed with the user's own client (RBAC on ``list nodes`` / ``list pods``,
and their label selectors) are the ones whose metrics are returned. A node or pod without a sample
is left out, as metrics-server leaves it out (kubectl prints ``<unknown>`` or "metrics not
available yet").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from actors.metrics.top import collect_top
from bus.client import ApiClient
from bus.connection import Bus
from schemas.errors import NotFound

GROUP_VERSION = "metrics.k8s.io/v1beta1"
WINDOW = "10s"


def _usage(cpu_nanocores: int, memory_bytes: int) -> dict[str, str]:
    return {"cpu": f"{int(cpu_nanocores)}n", "memory": f"{int(memory_bytes) // 1024}Ki"}


def _meta(obj: dict[str, Any], now: str) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    out = {"name": meta.get("name"), "creationTimestamp": now}
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    if meta.get("labels"):
        out["labels"] = meta["labels"]
    return out


async def serve(bus: Bus, api: ApiClient, rest: list[str], query: Any) -> dict[str, Any]:
    """The document at ``/apis/metrics.k8s.io/v1beta1/<rest>``."""
    parts = [p for p in rest if p]
    namespace = None
    if len(parts) >= 3 and parts[0] == "namespaces":
        namespace, parts = parts[1], parts[2:]
    if (
        not parts
        or parts[0] not in ("nodes", "pods")
        or len(parts) > 2
        or (namespace and parts[0] == "nodes")
    ):
        raise NotFound("the server could not find the requested resource")
    kind = "NodeMetrics" if parts[0] == "nodes" else "PodMetrics"
    name = parts[1] if len(parts) == 2 else None
    selector = query.get("labelSelector") or None
    if name is not None:
        fields = f"metadata.name={name}"
    else:
        fields = query.get("fieldSelector") or None
    visible = await api.list(parts[0], namespace, selector, fields)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = await collect_top(api, bus)
    items: list[dict[str, Any]] = []
    if kind == "NodeMetrics":
        sampled = {
            n.name: n for n in data.nodes if n.cpu_nanocores is not None and n.memory_bytes is not None
        }
        for node in visible.get("items") or []:
            top = sampled.get(node["metadata"]["name"])
            if top is not None:
                items.append(
                    {
                        "kind": kind,
                        "apiVersion": GROUP_VERSION,
                        "metadata": _meta(node, now),
                        "timestamp": top.sampled_at or now,
                        "window": WINDOW,
                        "usage": _usage(top.cpu_nanocores or 0, top.memory_bytes or 0),
                    }
                )
    else:
        sampled_pods = {(p.namespace, p.name): p for p in data.pods}
        for pod in visible.get("items") or []:
            meta = pod.get("metadata") or {}
            top_pod = sampled_pods.get((meta.get("namespace"), meta.get("name")))
            if top_pod is not None:
                items.append(
                    {
                        "kind": kind,
                        "apiVersion": GROUP_VERSION,
                        "metadata": _meta(pod, now),
                        "timestamp": now,
                        "window": WINDOW,
                        "containers": [
                            {"name": c.name, "usage": _usage(c.cpu_nanocores, c.memory_bytes)}
                            for c in top_pod.containers
                        ],
                    }
                )
    if name is not None:
        if not items:
            raise NotFound(f'{parts[0]}.metrics.k8s.io "{name}" not found')
        return items[0]
    return {"kind": f"{kind}List", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}
