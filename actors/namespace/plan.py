"""Pure decisions of the namespace controller: empty a Terminating namespace, then finalize it.

Deleting a namespace is a two-step affair, as in Kubernetes. The api actor refuses to remove a
namespace while ``spec.finalizers`` holds ``kubernetes``: it sets ``metadata.deletionTimestamp`` and
``status.phase: Terminating`` instead, and from then on refuses to create anything in it. This
controller then deletes every object of every namespaced resource in it, waits until none is left
(pods go through graceful termination, owners through the garbage collector), and removes
``kubernetes`` from ``spec.finalizers``; the api actor removes the namespace once no finalizer is
left.

Events are left out: they live in their own stream with a maximum age rather than in the state
bucket, so they expire on their own (Kubernetes deletes them with the rest).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

KUBERNETES_FINALIZER = "kubernetes"
SKIPPED_RESOURCES = frozenset({"events"})


@dataclass(frozen=True)
class DeleteContent:
    resource: str
    namespace: str
    name: str
    uid: str


@dataclass(frozen=True)
class SetTerminating:
    namespace: dict[str, Any]  # modified copy; write with update_status


@dataclass(frozen=True)
class RemoveFinalizer:
    namespace: dict[str, Any]  # modified copy (spec.finalizers); write with update


Action = DeleteContent | SetTerminating | RemoveFinalizer


def is_terminating(namespace: dict[str, Any]) -> bool:
    return bool((namespace.get("metadata") or {}).get("deletionTimestamp"))


def plan(namespace: dict[str, Any], contents: dict[str, list[dict[str, Any]]]) -> list[Action]:
    """``contents`` maps each namespaced resource to its objects in this namespace.

    Returns the deletions still to issue, or, once the namespace is empty, the finalizer removal.
    An empty list while objects remain means: wait for them to go.
    """
    if not is_terminating(namespace):
        return []
    name = (namespace.get("metadata") or {}).get("name", "")
    actions: list[Action] = []
    if (namespace.get("status") or {}).get("phase") != "Terminating":
        marked = copy.deepcopy(namespace)
        marked.setdefault("status", {})["phase"] = "Terminating"
        actions.append(SetTerminating(marked))
    remaining = 0
    for resource in sorted(contents):
        if resource in SKIPPED_RESOURCES:
            continue
        for obj in contents[resource]:
            meta = obj.get("metadata") or {}
            if (meta.get("namespace") or name) != name:
                continue
            remaining += 1
            if not meta.get("deletionTimestamp"):
                actions.append(DeleteContent(resource, name, meta.get("name", ""), meta.get("uid", "")))
    finalizers = (namespace.get("spec") or {}).get("finalizers") or []
    if remaining == 0 and KUBERNETES_FINALIZER in finalizers:
        done = copy.deepcopy(namespace)
        done["spec"]["finalizers"] = [f for f in finalizers if f != KUBERNETES_FINALIZER]
        actions.append(RemoveFinalizer(done))
    return actions
