"""Pure decisions of the node lifecycle controller, with the clock passed in.

A node's health is its ``Ready`` condition, which its kubelet refreshes (``lastHeartbeatTime``):

- no heartbeat for ``node_monitor_grace_period`` (default 40 s; ``node_startup_grace_period``, 60 s,
  for a node that never posted one) -> ``Ready`` (and the kubelet's pressure conditions) turn
  ``Unknown``, reason ``NodeStatusUnknown``, message ``Kubelet stopped posting node status.``;
- taints follow ``Ready`` as ``TaintNodesByCondition`` and taint-based eviction do:
  ``Unknown`` -> ``node.kubernetes.io/unreachable`` with effects ``NoSchedule`` and ``NoExecute``,
  ``False`` -> ``node.kubernetes.io/not-ready`` with both effects, ``True`` -> neither; and, as
  TaintNodesByCondition, a ``NoSchedule`` taint for each of ``NetworkUnavailable``
  (``node.kubernetes.io/network-unavailable``: the flannel agent has not set the node's network up),
  ``MemoryPressure``, ``DiskPressure`` and ``PIDPressure`` while it is ``True``;
- the pods of a node that is not Ready get their ``Ready`` condition set to ``False``;
- pods are evicted (deleted, so their controllers recreate them elsewhere) once the ``NoExecute``
  taint has been there longer than they tolerate it: a matching toleration with
  ``tolerationSeconds`` gives that delay, one without it means never (DaemonSet pods), no matching
  toleration means ``pod_eviction_timeout`` (default 300 s; Kubernetes' DefaultTolerationSeconds
  admission gives every pod this toleration). DaemonSet pods, mirror pods and pods already
  terminating are never evicted;
- a node whose kubelet posts again turns Ready and loses those taints. If a kubelet refreshes only
  the heartbeat of the condition this controller had set to Unknown, or only renews its Lease, the
  controller sets it back to ``True`` itself (reason ``KubeletReady``).

A heartbeat is the condition's ``lastHeartbeatTime`` or the node's Lease's ``renewTime``
(``kube-node-lease/<node>``), whichever is newer: kubelets renew the Lease every 10 s and write the
Node status only when it changes or every 5 minutes.

Each ``decide`` returns the actions and when to look again (``recheck_after`` seconds) so the
controller requeues the node at the right moment instead of polling.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.status import format_time, parse_time

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"
#: TaintNodesByCondition: a condition that is True -> this NoSchedule taint (Kubernetes' table)
CONDITION_TAINTS = {
    "NetworkUnavailable": NETWORK_UNAVAILABLE,
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
}


@dataclass(frozen=True)
class Settings:
    node_monitor_grace_period: float = 40.0
    node_startup_grace_period: float = 60.0
    pod_eviction_timeout: float = 300.0


def ready_condition(node: dict[str, Any]) -> dict[str, Any] | None:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond
    return None


def ready_status(node: dict[str, Any]) -> str:
    cond = ready_condition(node)
    return (cond or {}).get("status") or "Unknown"


@dataclass(frozen=True)
class UpdateNodeStatus:
    node: dict[str, Any]  # modified copy; write with update_status


@dataclass(frozen=True)
class UpdateNode:
    node: dict[str, Any]  # modified copy (taints); write with update


@dataclass
class NodeDecision:
    actions: list[UpdateNodeStatus | UpdateNode] = field(default_factory=list)
    recheck_after: float | None = None


def desired_taints(
    status: str,
    now: datetime,
    current: list[dict[str, Any]],
    conditions: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """``current`` with the unreachable/not-ready taints made to match the Ready ``status``, and
    the taints of :data:`CONDITION_TAINTS` to match the node's ``conditions``."""
    want: set[tuple[str, str]] = set()
    if status == "Unknown":
        want = {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    elif status == "False":
        want = {(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")}
    for cond in conditions or ():
        key = CONDITION_TAINTS.get(str(cond.get("type")))
        if key is not None and cond.get("status") == "True":
            want.add((key, "NoSchedule"))
    managed = (UNREACHABLE, NOT_READY, *CONDITION_TAINTS.values())
    out = [t for t in current if t.get("key") not in managed or (t["key"], t.get("effect")) in want]
    have = {(t.get("key"), t.get("effect")) for t in out}
    for key, effect in sorted(want - have):
        taint: dict[str, Any] = {"key": key, "effect": effect}
        if effect == "NoExecute":
            taint["timeAdded"] = format_time(now)
        out.append(taint)
    return out


def orphaned_lease(node_name: str, node: dict[str, Any] | None, lease: dict[str, Any] | None) -> bool:
    """Delete this node Lease? When its Node is gone and the Lease names it as its owner: the
    garbage collector's cascade, done here because the collector does not watch Leases (every node
    renews its own every 10 s: a reconcile each for nothing). The kubelet of a Node deleted under
    it notices at its next renewal and registers the Node again. ``node`` must be authoritative (the
    controller confirms a cache miss with a live read: the Lease informer may be ahead)."""
    if node is not None or lease is None:
        return False
    refs = (lease.get("metadata") or {}).get("ownerReferences") or ()
    return any(r.get("kind") == "Node" and r.get("name") == node_name for r in refs)


def lease_renew_time(lease: dict[str, Any] | None) -> datetime | None:
    return parse_time(((lease or {}).get("spec") or {}).get("renewTime"))


def decide(
    node: dict[str, Any], now: datetime, settings: Settings, lease: dict[str, Any] | None = None
) -> NodeDecision:
    """The node's own status and taints. Its heartbeat is the newer of its Ready condition's
    ``lastHeartbeatTime`` and its Lease's ``renewTime`` (kube-node-lease/<node>), if it has one."""
    decision = NodeDecision()
    meta = node.get("metadata") or {}
    cond = ready_condition(node)
    if cond is None:
        heartbeat = parse_time(meta.get("creationTimestamp")) or now
        grace = settings.node_startup_grace_period
    else:
        heartbeat = (
            parse_time(cond.get("lastHeartbeatTime")) or parse_time(meta.get("creationTimestamp")) or now
        )
        grace = settings.node_monitor_grace_period
        renewed = lease_renew_time(lease)
        if renewed is not None and renewed > heartbeat:
            heartbeat = renewed
    age = (now - heartbeat).total_seconds()
    status = (cond or {}).get("status") or "Unknown"
    new_node: dict[str, Any] | None = None

    if age > grace:
        if cond is None or cond.get("status") != "Unknown":
            new_node = copy.deepcopy(node)
            conditions = new_node.setdefault("status", {}).setdefault("conditions", [])
            if cond is None:
                conditions.append({"type": "Ready", "lastHeartbeatTime": format_time(heartbeat)})
            for c in conditions:
                if c.get("type") in KUBELET_CONDITIONS and c.get("status") != "Unknown":
                    c.update(
                        status="Unknown",
                        reason=UNKNOWN_REASON,
                        message=UNKNOWN_MESSAGE,
                        lastTransitionTime=format_time(now),
                    )
            decision.actions.append(UpdateNodeStatus(new_node))
        status = "Unknown"
    else:
        decision.recheck_after = max(grace - age, 0.0) + 0.001
        transitioned = parse_time((cond or {}).get("lastTransitionTime"))
        if (
            cond is not None
            and status == "Unknown"
            and cond.get("reason") == UNKNOWN_REASON
            and transitioned is not None
            and heartbeat > transitioned
        ):
            new_node = copy.deepcopy(node)
            for c in new_node["status"]["conditions"]:
                if c.get("type") == "Ready":
                    c.update(
                        status="True",
                        reason="KubeletReady",
                        message="kubelet is posting ready status",
                        lastTransitionTime=format_time(now),
                    )
            decision.actions.append(UpdateNodeStatus(new_node))
            status = "True"

    if cond is None and new_node is None:
        return decision  # a node still registering: no condition, no taints yet
    current_taints = (node.get("spec") or {}).get("taints") or []
    conditions = ((new_node or node).get("status") or {}).get("conditions") or []
    taints = desired_taints(status, now, current_taints, conditions)
    if taints != current_taints:
        tainted = copy.deepcopy(node)
        if taints:
            tainted.setdefault("spec", {})["taints"] = taints
        else:
            tainted.setdefault("spec", {}).pop("taints", None)
        decision.actions.append(UpdateNode(tainted))
    return decision


# --- pods on a node --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkPodNotReady:
    pod: dict[str, Any]  # modified copy; write with update_status


@dataclass(frozen=True)
class EvictPod:
    namespace: str
    name: str
    uid: str


@dataclass
class PodDecision:
    actions: list[MarkPodNotReady | EvictPod] = field(default_factory=list)
    recheck_after: float | None = None


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """Kubernetes' ``Toleration.ToleratesTaint``."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def is_daemonset_pod(pod: dict[str, Any]) -> bool:
    refs = (pod.get("metadata") or {}).get("ownerReferences") or []
    return any(r.get("controller") and r.get("kind") == "DaemonSet" for r in refs)


def is_mirror_pod(pod: dict[str, Any]) -> bool:
    return MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def toleration_seconds(pod: dict[str, Any], taint: dict[str, Any], default: float) -> float | None:
    """How long the pod stays on a node with this NoExecute taint; None: forever."""
    matching = [t for t in (pod.get("spec") or {}).get("tolerations") or [] if tolerates(t, taint)]
    if not matching:
        return default
    seconds = [t["tolerationSeconds"] for t in matching if t.get("tolerationSeconds") is not None]
    if len(seconds) < len(matching):
        return None  # a toleration without a limit: tolerated forever
    return max(0.0, float(min(seconds)))


def decide_pods(
    node: dict[str, Any], pods: list[dict[str, Any]], now: datetime, settings: Settings
) -> PodDecision:
    """The pods bound to ``node`` (as the store has it, taints included)."""
    decision = PodDecision()
    if ready_status(node) == "True":
        return decision
    node_name = (node.get("metadata") or {}).get("name")
    no_execute = [
        t
        for t in (node.get("spec") or {}).get("taints") or []
        if t.get("effect") == "NoExecute" and t.get("key") in (UNREACHABLE, NOT_READY)
    ]
    cond = ready_condition(node) or {}
    since_default = parse_time(cond.get("lastTransitionTime")) or now
    waits: list[float] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if (pod.get("spec") or {}).get("nodeName") != node_name or meta.get("deletionTimestamp"):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        evict = False
        if no_execute and not is_daemonset_pod(pod) and not is_mirror_pod(pod):
            for taint in no_execute:
                limit = toleration_seconds(pod, taint, settings.pod_eviction_timeout)
                if limit is None:
                    continue
                since = parse_time(taint.get("timeAdded")) or since_default
                remaining = limit - (now - since).total_seconds()
                if remaining <= 0:
                    evict = True
                else:
                    waits.append(remaining)
        if evict:
            decision.actions.append(
                EvictPod(meta.get("namespace") or "default", meta.get("name", ""), meta.get("uid", ""))
            )
            continue
        conds = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") != "False" for c in conds):
            updated = copy.deepcopy(pod)
            for c in updated["status"]["conditions"]:
                if c.get("type") == "Ready":
                    c.update(status="False", lastTransitionTime=format_time(now))
                    c.pop("reason", None)
                    c.pop("message", None)
            decision.actions.append(MarkPodNotReady(updated))
    if waits:
        decision.recheck_after = min(waits) + 0.001
    return decision
