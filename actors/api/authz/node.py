"""The node authorizer: what a kubelet (user ``system:node:<name>``, group ``system:nodes``) may do.

As Kubernetes' Node authorizer and NodeRestriction admission together, narrowed to what jetkube's
kubelet does:

* its own Node: create, get, update, patch (and status); other nodes: get/list/watch only;
* pods: get/list/watch and delete, and writes of ``status``, only of pods bound to it
  (``spec.nodeName``); create only of mirror pods bound to it;
* Secrets, ConfigMaps and PersistentVolumeClaims: get, only those its pods refer to (volumes,
  ``env[].valueFrom``, ``envFrom``, ``imagePullSecrets``, projected sources);
* Services, Endpoints, Namespaces: read; Events: create;
* ``nodepods`` (the relay's per-node list): its own node only.

Everything else is refused. Pure: the caller passes the pods bound to the node and the objects
the request touches.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from actors.api.authz.rbac import Attributes

Obj = dict[str, Any]
READ = ("get", "list", "watch")


def referenced(pods: Iterable[Obj], kind: str) -> set[tuple[str, str]]:
    """(namespace, name) of every ``kind`` (``secrets``/``configmaps``/``persistentvolumeclaims``)
    the pods refer to."""
    out: set[tuple[str, str]] = set()
    for pod in pods:
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        spec = pod.get("spec") or {}
        names: list[str] = []
        if kind == "secrets":
            names += [r.get("name", "") for r in spec.get("imagePullSecrets") or []]
        for vol in spec.get("volumes") or []:
            if kind == "secrets" and vol.get("secret"):
                names.append(vol["secret"].get("secretName", ""))
            if kind == "configmaps" and vol.get("configMap"):
                names.append(vol["configMap"].get("name", ""))
            if kind == "persistentvolumeclaims" and vol.get("persistentVolumeClaim"):
                names.append(vol["persistentVolumeClaim"].get("claimName", ""))
            for src in (vol.get("projected") or {}).get("sources") or []:
                if kind == "secrets" and src.get("secret"):
                    names.append(src["secret"].get("name", ""))
                if kind == "configmaps" and src.get("configMap"):
                    names.append(src["configMap"].get("name", ""))
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get(
                    "secretKeyRef" if kind == "secrets" else "configMapKeyRef"
                )
                if ref:
                    names.append(ref.get("name", ""))
            for src in c.get("envFrom") or []:
                ref = src.get("secretRef" if kind == "secrets" else "configMapRef")
                if ref:
                    names.append(ref.get("name", ""))
        out.update((ns, n) for n in names if n)
    return out


def bound_to(pod: Obj | None, node: str) -> bool:
    return bool(pod) and (pod.get("spec") or {}).get("nodeName") == node  # type: ignore[union-attr]


def node_allows(
    node: str,
    attrs: Attributes,
    *,
    node_pods: Iterable[Obj] = (),
    target: Obj | None = None,
    body: Obj | None = None,
) -> tuple[bool, str]:
    """(allowed, reason) for a request of the kubelet of ``node``.

    ``target``: the stored object the request names (pods: to see where it is bound); ``body``:
    the object a create sends."""
    verb, res = attrs.verb, attrs.resource
    if res == "nodepods":
        return (attrs.name == node, "its own node" if attrs.name == node else "another node's pods")
    if res == "nodes":
        if verb in READ:
            return True, "nodes may read nodes"
        name = ((body or {}).get("metadata") or {}).get("name") if verb == "create" else attrs.name
        if verb in ("create", "update", "patch") and name == node:
            return True, "its own Node"
        return False, f"node {node!r} may only change its own Node object"
    if res == "pods":
        if verb == "create":
            ok = bound_to(body, node)
            return (
                ok,
                "a mirror pod bound to it" if ok else f"node {node!r} may only create pods bound to itself",
            )
        if verb == "list" or verb == "watch":
            return False, "kubelets list their pods through nodepods"
        if not bound_to(target, node):
            return False, f"node {node!r} may only touch pods bound to it"
        if verb in ("get", "delete"):
            return True, "a pod bound to it"
        if verb in ("update", "patch") and attrs.subresource == "status":
            return True, "the status of a pod bound to it"
        return False, f"node {node!r} may only write the status of its pods"
    if res in ("secrets", "configmaps", "persistentvolumeclaims"):
        if verb != "get":
            return False, f"node {node!r} may only get the {res} its pods use"
        if (attrs.namespace or "default", attrs.name) in referenced(node_pods, res):
            return True, f"referenced by a pod bound to {node}"
        return False, f"no pod bound to node {node!r} refers to it"
    if res in ("services", "endpoints", "namespaces") and verb in READ:
        return True, "nodes may read services, endpoints and namespaces"
    if res == "events" and verb == "create":
        return True, "nodes may record events"
    return False, f"nodes may not {verb} {attrs.shown_resource}"
