"""``jetkube drain``: which pods of a node to evict, and why the others block, as kubectl decides.

kubectl runs each pod through filters in order (deleted, DaemonSet, mirror, local storage,
unreplicated); the first that says "do not delete" decides, as an error (the drain stops before
evicting anything) or a warning (the pod is skipped, or deleted anyway under ``--force``). Errors
are grouped by reason, one line each, with the pods as ``namespace/name`` joined by ``, ``.

Differences from kubectl: a DaemonSet pod whose DaemonSet is gone is treated like any DaemonSet pod
(kubectl looks the DaemonSet up and deletes such a pod under ``--force``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors.nodelifecycle.decide import is_mirror_pod

UNMANAGED = "Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet"
UNMANAGED_FATAL = f"{UNMANAGED} (use --force to override)"
DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
UNMANAGED_WARNING = f"deleting {UNMANAGED}"


@dataclass
class DrainPlan:
    to_evict: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __iter__(self):  # type: ignore[no-untyped-def]
        """Unpacks as ``(to_evict, errors)``."""
        return iter((self.to_evict, self.errors))


def _controller_ref(pod: dict[str, Any]) -> dict[str, Any] | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def _finished(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _has_local_storage(pod: dict[str, Any]) -> bool:
    return any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or [])


def _name(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


def _grouped(pairs: list[tuple[str, str]], prefix: str) -> list[str]:
    by_msg: dict[str, list[str]] = {}
    for msg, pod in pairs:
        by_msg.setdefault(msg, []).append(pod)
    return [f"{prefix}{msg}: {', '.join(pods)}" for msg, pods in by_msg.items()]


def plan_drain(
    node: str | dict[str, Any],
    pods: list[dict[str, Any]],
    ignore_daemonsets: bool = False,
    force: bool = False,
    delete_emptydir_data: bool = False,
) -> DrainPlan:
    """The pods of ``node`` to evict, and the errors that stop the drain (empty when it may go on).

    ``DrainPlan`` unpacks as ``(to_evict, errors)``; ``.warnings`` holds kubectl's warning lines.
    """
    node_name = node if isinstance(node, str) else (node.get("metadata") or {}).get("name")
    plan = DrainPlan()
    errors: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") != node_name:
            continue
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            plan.to_evict.append(pod)  # kubectl waits for these too
            continue
        ref = _controller_ref(pod)
        if ref is not None and ref.get("kind") == "DaemonSet":
            if ignore_daemonsets:
                warnings.append((DAEMONSET_WARNING, _name(pod)))
            else:
                errors.append((DAEMONSET_FATAL, _name(pod)))
            continue
        if is_mirror_pod(pod):
            continue
        if not _finished(pod) and _has_local_storage(pod):
            if not delete_emptydir_data:
                errors.append((LOCAL_STORAGE_FATAL, _name(pod)))
                continue
            warnings.append((LOCAL_STORAGE_WARNING, _name(pod)))
        if not _finished(pod) and ref is None:
            if not force:
                errors.append((UNMANAGED_FATAL, _name(pod)))
                continue
            warnings.append((UNMANAGED_WARNING, _name(pod)))
        plan.to_evict.append(pod)
    plan.errors = _grouped(errors, "cannot delete ")
    plan.warnings = _grouped(warnings, "")
    return plan
