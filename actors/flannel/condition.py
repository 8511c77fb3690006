"""The Node's ``NetworkUnavailable`` condition, as flannel and Kubernetes have it. No I/O.

Who writes it, and when:

- the kubelet (``--pod-network flannel``) creates its Node with ``status: "True"``, reason
  ``NoRouteCreated``, message ``Node created without a route`` (what Kubernetes' kubelet does when
  its network needs configuring), so no pod lands on the node before its network exists;
- the flannel agent sets ``status: "False"``, reason ``FlannelIsUp``, message ``Flannel is running
  on this node`` (flannel's own words) once the host is set up, and ``"True"`` with a reason saying
  why while it cannot be: :data:`NO_POD_CIDR` (the control plane has not allocated
  ``spec.podCIDR``), :data:`NO_CLUSTER_CIDR` (no ``--cluster-cidr`` and none published), or
  ``FlannelSetupFailed`` with the error;
- the node lifecycle controller taints a node whose condition is True with
  ``node.kubernetes.io/network-unavailable:NoSchedule`` (Kubernetes' TaintNodesByCondition), and
  the scheduler reads the condition as that taint too, so only pods that tolerate it land there.

The agent writes a strategic merge patch of the status (:func:`condition_patch`): conditions merge
by ``type``, so it never touches the kubelet's Ready and pressure conditions, and the kubelet, which
writes its status from the Node it last read (compare-and-set, re-read on Conflict), keeps this one.
``lastTransitionTime`` moves only when ``status`` flips.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Obj = Mapping[str, Any]
TYPE = "NetworkUnavailable"


@dataclass(frozen=True)
class NetworkState:
    status: Literal["True", "False"]
    reason: str
    message: str


UP = NetworkState("False", "FlannelIsUp", "Flannel is running on this node")
NO_ROUTE = NetworkState("True", "NoRouteCreated", "Node created without a route")
NO_POD_CIDR = NetworkState(
    "True", "NoPodCIDR", "waiting for the control plane's node IPAM to allocate spec.podCIDR"
)


def no_cluster_cidr(problem: str) -> NetworkState:
    return NetworkState("True", "NoClusterCIDR", problem)


def setup_failed(error: str) -> NetworkState:
    return NetworkState("True", "FlannelSetupFailed", error)


def current(node: Obj | None) -> Obj | None:
    """The node's NetworkUnavailable condition, or None."""
    for cond in ((node or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == TYPE:
            return cond
    return None


def says(node: Obj | None, want: NetworkState) -> bool:
    have = current(node) or {}
    return (have.get("status"), have.get("reason"), have.get("message")) == (
        want.status,
        want.reason,
        want.message,
    )


def condition(want: NetworkState, now: str, previous: Obj | None = None) -> dict[str, Any]:
    """The condition object; ``lastTransitionTime`` kept from ``previous`` unless the status flips."""
    since = now
    if previous is not None and previous.get("status") == want.status and previous.get("lastTransitionTime"):
        since = str(previous["lastTransitionTime"])
    return {
        "type": TYPE,
        "status": want.status,
        "reason": want.reason,
        "message": want.message,
        "lastHeartbeatTime": now,
        "lastTransitionTime": since,
    }


def condition_patch(node: Obj | None, want: NetworkState, now: str) -> dict[str, Any] | None:
    """The strategic merge patch of the Node's status that makes the condition say ``want``; None
    when it already does (or there is no Node to patch)."""
    if node is None or says(node, want):
        return None
    return {"status": {"conditions": [condition(want, now, current(node))]}}
