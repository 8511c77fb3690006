"""Node heartbeats as Leases, as Kubernetes has done since 1.14. No I/O.

Each node renews ``coordination.k8s.io/v1`` Lease ``kube-node-lease/<node>`` every heartbeat
interval (10 s): a small write. Its Node status is written only when it changed (conditions other
than their ``lastHeartbeatTime``, capacity, addresses...) or when ``STATUS_REPORT_INTERVAL`` (5 min)
has passed since the last write. The node lifecycle controller takes a node's last heartbeat as the
newer of its Ready condition's ``lastHeartbeatTime`` and its Lease's ``renewTime``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40  # seconds: Kubernetes' node lease duration
STATUS_REPORT_INTERVAL = 300.0  # seconds: Kubernetes' nodeStatusReportFrequency


def micro_time(when: datetime) -> str:
    """A Lease's MicroTime: RFC 3339 with microseconds."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_object(node: Obj | str, now: datetime, duration: int = LEASE_DURATION) -> Obj:
    """The node's Lease, owned by the Node (so it goes when the Node is deleted)."""
    name = node if isinstance(node, str) else node["metadata"]["name"]
    meta: Obj = {"name": name, "namespace": NAMESPACE}
    if not isinstance(node, str) and node["metadata"].get("uid"):
        meta["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
        ]
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {"holderIdentity": name, "leaseDurationSeconds": duration, "renewTime": micro_time(now)},
    }


def renewed(lease: Obj, now: datetime, owner: Obj | None = None) -> Obj:
    """``lease`` (read-only) with ``renewTime`` moved to now; owned by ``owner`` (a Node) when
    given and it is not already (a Node deleted and registered again: the old one's Lease, which
    the garbage collector has not deleted yet, passes to the new one)."""
    new = dict(lease)
    new["spec"] = {**(lease.get("spec") or {}), "renewTime": micro_time(now)}
    uid = ((owner or {}).get("metadata") or {}).get("uid")
    if uid and [r.get("uid") for r in (lease.get("metadata") or {}).get("ownerReferences") or ()] != [uid]:
        name = owner["metadata"]["name"]  # type: ignore[index]
        new["metadata"] = {
            **(lease.get("metadata") or {}),
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}],
        }
    return new


def _without_heartbeats(status: Obj | None) -> Obj:
    out = copy.deepcopy(status or {})
    for c in out.get("conditions") or []:
        c.pop("lastHeartbeatTime", None)
    return out


def status_due(
    last_written: Obj | None,
    new: Obj,
    written_at: float | None,
    now: float,
    interval: float = STATUS_REPORT_INTERVAL,
) -> bool:
    """Write the Node status? When it changed (heartbeat times aside) or ``interval`` passed."""
    if last_written is None or written_at is None:
        return True
    if now - written_at >= interval:
        return True
    return _without_heartbeats(last_written) != _without_heartbeats(new)
