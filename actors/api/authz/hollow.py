"""The hollow-node authorizer: what a fleet of simulated kubelets (``system:hollow-nodes``) may do.

``jetkube hollow-nodes --credentials FILE`` logs in as the NATS user ``hollow-nodes`` (bus/auth.py),
whose Kubernetes user is ``system:hollow-nodes`` in the group of the same name. A fleet runs many
nodes under one identity, so it cannot be tied to one node name as a kubelet is; it is tied to
*hollow* Nodes instead, those labelled ``type=hollow`` (actors/hollow/objects.py), as Kubernetes'
node authorizer narrowed to what the fleet does:

* Nodes: read any; create one only if it carries the hollow label; update or patch (and status)
  only a Node that is hollow now and stays hollow; never delete;
* ``nodepods`` (the relay's per-node list): only of a hollow Node;
* pods: get, delete, and writes of ``status``, only of pods bound to a hollow Node (never create,
  list or watch: the relay brings them);
* Leases in ``kube-node-lease`` (the heartbeat): get, create, update, patch, only of a hollow Node;
* Services, Endpoints, Namespaces: read (a pod's service environment variables);
* Events: create.

Everything else is refused, and RBAC does not add to it. Pure: the gate passes the stored objects
(the Node the request concerns, the pod it names).
"""

from __future__ import annotations

from typing import Any

from actors.api.authz.rbac import Attributes

Obj = dict[str, Any]
ROOT_CA = "kube-root-ca.crt"
HOLLOW_LABEL = ("type", "hollow")  # as actors/hollow/objects.py labels the Nodes it registers
READ = ("get", "list", "watch")
NODE_LEASES = "kube-node-lease"  # a node's heartbeat Lease has the node's name


def is_hollow(node: Obj | None) -> bool:
    labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(HOLLOW_LABEL[0]) == HOLLOW_LABEL[1]


def bound_node(pod: Obj | None) -> str:
    return str(((pod or {}).get("spec") or {}).get("nodeName") or "")


def hollow_allows(
    attrs: Attributes, *, node: Obj | None = None, target: Obj | None = None, body: Obj | None = None
) -> tuple[bool, str]:
    """(allowed, reason) for a request of ``system:hollow-nodes``.

    ``node``: the stored Node the request concerns (the one named, or the one the pod is bound to);
    ``target``: the stored pod a pod request names; ``body``: what a create or update sends."""
    verb, res = attrs.verb, attrs.resource
    label = "=".join(HOLLOW_LABEL)
    if res == "nodepods":
        if is_hollow(node):
            return True, "the pods of a hollow node"
        return False, f"hollow nodes may only list the pods of nodes labelled {label}"
    if res == "nodes":
        if verb in READ:
            return True, "hollow nodes may read nodes"
        if verb == "create":
            if is_hollow(body):
                return True, f"a Node labelled {label}"
            return False, f"hollow nodes may only create Nodes labelled {label}"
        if verb in ("update", "patch"):
            if not is_hollow(node):
                return False, f"hollow nodes may only change Nodes labelled {label}"
            if verb == "update" and not is_hollow(body):
                return False, f"hollow nodes may not remove the label {label}"
            return True, "a hollow Node"
        return False, f"hollow nodes may not {verb} nodes"
    if res == "pods":
        if verb in ("create", "list", "watch"):
            return False, f"hollow nodes may not {verb} pods (their pods come through the node relay)"
        if not bound_node(target) or not is_hollow(node):
            return False, "hollow nodes may only touch pods bound to a hollow node"
        if verb in ("get", "delete"):
            return True, "a pod bound to a hollow node"
        if verb in ("update", "patch") and attrs.subresource == "status":
            return True, "the status of a pod bound to a hollow node"
        return False, "hollow nodes may only write the status of their pods"
    if res == "leases" and attrs.namespace == NODE_LEASES:
        if verb in ("get", "create", "update", "patch") and is_hollow(node):
            return True, "the Lease of a hollow node"
        return False, f"hollow nodes may only read and renew the Leases of Nodes labelled {label}"
    if res in ("services", "endpoints", "namespaces") and verb in READ:
        return True, "hollow nodes may read services, endpoints and namespaces"
    if res == "configmaps" and verb == "get" and attrs.name == ROOT_CA:
        return True, "the cluster's public CA, which every pod's token volume mounts"
    if res == "events" and verb == "create":
        return True, "hollow nodes may record events"
    return False, f"hollow nodes may not {verb} {attrs.shown_resource}"
