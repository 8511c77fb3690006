"""The node authorizer: what a kubelet (user ``system:node:<name>``, group ``system:nodes``) may do.

As Kubernetes' Node authorizer and NodeRestriction admission together, narrowed to what jetkube's
kubelet does:

* its own Node: create, get, update, patch (and status); other nodes: get/list/watch only;
* pods: get/list/watch and delete, and writes of ``status``, only of pods bound to it
  (``spec.nodeName``); create only of mirror pods (see :func:`mirror_pod_refusal`);
* Secrets, ConfigMaps and PersistentVolumeClaims: get, only those referred to (volumes,
  ``env[].valueFrom``, ``envFrom``, ``imagePullSecrets``, projected sources) by a pod bound to it
  that is not a mirror pod: a node creates mirror pods itself, so they grant it nothing;
* the ConfigMap ``kube-system/jetkube-cluster-config`` (the cluster CIDR the node IPAM publishes,
  which the node's flannel agent reads): get;
* Services, Endpoints, Namespaces: read; PersistentVolumes: get; Events: create;
* ``nodepods`` (the relay's per-node list): its own node only;
* its own Lease ``kube-node-lease/<node>`` (the heartbeat): get, create, update, patch.

Everything else is refused. Pure: the caller passes the pods bound to the node and the objects
the request touches. A refused pod create is final (:func:`node_restricted`): as NodeRestriction
is an admission plugin, RBAC granted to the node does not lift it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from actors.api.authz.rbac import Attributes
from actors.nodeipam import clusterconfig

Obj = dict[str, Any]
READ = ("get", "list", "watch")
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
#: What a mirror pod may not refer to, in the order it is checked (as Kubernetes' NodeRestriction
#: and ServiceAccount admission do for mirror pods).
MIRROR_FORBIDDEN = (
    "serviceaccounts",
    "secrets",
    "configmaps",
    "clustertrustbundles",
    "persistentvolumeclaims",
)


def is_mirror(pod: Obj | None) -> bool:
    return MIRROR_ANNOTATION in (((pod or {}).get("metadata") or {}).get("annotations") or {})


def _name(ref: Any, key: str = "name") -> str:
    return str(ref.get(key) or "") if isinstance(ref, dict) else ""


def pod_references(pod: Obj) -> Iterator[tuple[str, str, str]]:
    """(resource, name, field path) of every api object the pod refers to: ``secrets``,
    ``configmaps``, ``persistentvolumeclaims``, ``serviceaccounts``, ``clustertrustbundles``. A
    name may be empty (a reference without one, or a cluster trust bundle chosen by signer)."""
    spec = pod.get("spec") or {}
    for field in ("serviceAccountName", "serviceAccount"):
        if spec.get(field):
            yield "serviceaccounts", str(spec[field]), f"spec.{field}"
    for i, ref in enumerate(spec.get("imagePullSecrets") or []):
        yield "secrets", _name(ref), f"spec.imagePullSecrets[{i}]"
    for i, vol in enumerate(spec.get("volumes") or []):
        at = f"spec.volumes[{i}]"
        if vol.get("secret") is not None:
            yield "secrets", _name(vol["secret"], "secretName"), f"{at}.secret"
        if vol.get("configMap") is not None:
            yield "configmaps", _name(vol["configMap"]), f"{at}.configMap"
        if vol.get("persistentVolumeClaim") is not None:
            yield (
                "persistentvolumeclaims",
                _name(vol["persistentVolumeClaim"], "claimName"),
                f"{at}.persistentVolumeClaim",
            )
        if vol.get("ephemeral") is not None:  # a claim made for the pod, named <pod>-<volume>
            pod_name = (pod.get("metadata") or {}).get("name") or ""
            yield "persistentvolumeclaims", f"{pod_name}-{vol.get('name', '')}", f"{at}.ephemeral"
        if (vol.get("cephfs") or {}).get("secretRef") is not None:
            yield "secrets", _name(vol["cephfs"]["secretRef"]), f"{at}.cephfs.secretRef"
        for j, src in enumerate((vol.get("projected") or {}).get("sources") or []):
            where = f"{at}.projected.sources[{j}]"
            if src.get("secret") is not None:
                yield "secrets", _name(src["secret"]), f"{where}.secret"
            if src.get("configMap") is not None:
                yield "configmaps", _name(src["configMap"]), f"{where}.configMap"
            if src.get("serviceAccountToken") is not None:
                yield "serviceaccounts", "", f"{where}.serviceAccountToken"
            if src.get("clusterTrustBundle") is not None:
                yield "clustertrustbundles", _name(src["clusterTrustBundle"]), f"{where}.clusterTrustBundle"
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(group) or []):
            at = f"spec.{group}[{i}]"
            for j, env in enumerate(c.get("env") or []):
                source = env.get("valueFrom") or {}
                if source.get("secretKeyRef") is not None:
                    yield "secrets", _name(source["secretKeyRef"]), f"{at}.env[{j}].valueFrom.secretKeyRef"
                if source.get("configMapKeyRef") is not None:
                    yield (
                        "configmaps",
                        _name(source["configMapKeyRef"]),
                        f"{at}.env[{j}].valueFrom.configMapKeyRef",
                    )
            for j, src in enumerate(c.get("envFrom") or []):
                if src.get("secretRef") is not None:
                    yield "secrets", _name(src["secretRef"]), f"{at}.envFrom[{j}].secretRef"
                if src.get("configMapRef") is not None:
                    yield "configmaps", _name(src["configMapRef"]), f"{at}.envFrom[{j}].configMapRef"


def referenced(pods: Iterable[Obj], kind: str) -> set[tuple[str, str]]:
    """(namespace, name) of every ``kind`` (``secrets``/``configmaps``/``persistentvolumeclaims``)
    the pods refer to."""
    out: set[tuple[str, str]] = set()
    for pod in pods:
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        out.update((ns, name) for res, name, _ in pod_references(pod) if res == kind and name)
    return out


def bound_to(pod: Obj | None, node: str) -> bool:
    return bool(pod) and (pod.get("spec") or {}).get("nodeName") == node  # type: ignore[union-attr]


def _pod_ref(body: Obj | None, namespace: str) -> str:
    meta = (body or {}).get("metadata") or {}
    name = meta.get("name") or (f"{meta['generateName']}*" if meta.get("generateName") else "(unnamed)")
    return f"{meta.get('namespace') or namespace or 'default'}/{name}"


def mirror_pod_refusal(node: str, body: Obj | None, namespace: str = "") -> str | None:
    """Why the kubelet of ``node`` may not create this pod, or None. As Kubernetes' NodeRestriction
    admission: only a mirror pod (annotation ``kubernetes.io/config.mirror``), bound to the node,
    owned by the node's Node alone (one controller ownerReference, without blockOwnerDeletion),
    that refers to no service account, Secret, ConfigMap, ClusterTrustBundle or
    PersistentVolumeClaim (a node could otherwise grant itself any of them)."""
    pod = _pod_ref(body, namespace)
    if not is_mirror(body):
        return (
            f"node {node!r} may only create mirror pods (annotation {MIRROR_ANNOTATION}), "
            f"and pod {pod} is not one"
        )
    bound = ((body or {}).get("spec") or {}).get("nodeName")
    if bound != node:
        return f"node {node!r} may only create pods bound to itself, and pod {pod} is bound to {bound!r}"
    owners = ((body or {}).get("metadata") or {}).get("ownerReferences") or []
    if len(owners) != 1 or not isinstance(owners[0], dict):
        return (
            f"node {node!r} may only create pods with a single owner reference set to itself, "
            f"and pod {pod} has {len(owners)}"
        )
    owner = owners[0]
    if (owner.get("apiVersion"), owner.get("kind"), owner.get("name")) != ("v1", "Node", node):
        return (
            f"node {node!r} may only create pods with an owner reference set to itself (v1 Node {node!r}), "
            f"and pod {pod} is owned by {owner.get('kind')} {owner.get('name')!r}"
        )
    if owner.get("controller") is not True:
        return (
            f"node {node!r} may only create pods with a controller owner reference set to itself (pod {pod})"
        )
    if owner.get("blockOwnerDeletion"):
        return f"node {node!r} must not set blockOwnerDeletion on the owner reference of pod {pod}"
    refs = sorted(pod_references(body or {}), key=lambda r: MIRROR_FORBIDDEN.index(r[0]))
    if refs:
        res, name, path = refs[0]
        what = f"{res[:-1]} {name!r}" if name else res[:-1]
        return (
            f"node {node!r} may not create pods that refer to {res}: "
            f"mirror pod {pod} refers to {what} ({path})"
        )
    return None


def node_restricted(attrs: Attributes) -> bool:
    """Whether :func:`node_allows`' refusal of this request is final, as NodeRestriction admission
    is in Kubernetes (it runs whatever RBAC grants): a node's pod creates."""
    return attrs.resource == "pods" and attrs.verb == "create"


def service_account_of(pod: Obj) -> tuple[str, str]:
    """(namespace, name) of the ServiceAccount a pod runs as."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    return str(meta.get("namespace") or "default"), str(name)


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
            refusal = mirror_pod_refusal(node, body, attrs.namespace)
            return (False, refusal) if refusal else (True, "a mirror pod bound to it")
        if verb == "list" or verb == "watch":
            return False, "kubelets list their pods through nodepods"
        if not bound_to(target, node):
            return False, f"node {node!r} may only touch pods bound to it"
        if verb in ("get", "delete"):
            return True, "a pod bound to it"
        if verb in ("update", "patch") and attrs.subresource == "status":
            return True, "the status of a pod bound to it"
        return False, f"node {node!r} may only write the status of its pods"
    if (res, verb, attrs.namespace, attrs.name) == (
        "configmaps",
        "get",
        clusterconfig.NAMESPACE,
        clusterconfig.NAME,
    ):
        return True, "the cluster's pod network configuration, which every node's network agent reads"
    if res in ("secrets", "configmaps", "persistentvolumeclaims"):
        if verb != "get":
            return False, f"node {node!r} may only get the {res} its pods use"
        granting = [p for p in node_pods if not is_mirror(p)]  # a node makes its mirror pods itself
        if (attrs.namespace or "default", attrs.name) in referenced(granting, res):
            return True, f"referenced by a pod bound to {node}"
        return False, f"no pod bound to node {node!r} refers to it (its mirror pods do not count)"
    if res == "serviceaccounts":
        # a token for (or a read of) the ServiceAccount of one of its pods, as Kubernetes' node
        # authorizer allows the kubelet's TokenRequests
        token = verb == "create" and attrs.subresource == "token"
        if not (token or verb == "get"):
            return False, f"node {node!r} may only get, and request tokens of, its pods' service accounts"
        wanted = (attrs.namespace or "default", attrs.name)
        if wanted in {service_account_of(p) for p in node_pods if not is_mirror(p)}:
            return True, f"the service account of a pod bound to {node}"
        return False, f"no pod bound to node {node!r} runs as service account {attrs.name!r}"
    if res == "leases" and attrs.namespace == "kube-node-lease":
        name = ((body or {}).get("metadata") or {}).get("name") if verb == "create" else attrs.name
        if verb in ("get", "create", "update", "patch") and name == node:
            return True, "its own node Lease"
        return False, f"node {node!r} may only read and renew its own Lease in kube-node-lease"
    if res == "persistentvolumes" and verb == "get":
        # Kubernetes narrows this to the volumes of its pods' claims; a PV holds no secret (a
        # cephfs source names its Secret, which stays guarded above), so jetkube allows any get.
        return True, "nodes may get the persistent volumes their pods' claims are bound to"
    if res in ("services", "endpoints", "namespaces") and verb in READ:
        return True, "nodes may read services, endpoints and namespaces"
    if res == "events" and verb == "create":
        return True, "nodes may record events"
    return False, f"nodes may not {verb} {attrs.shown_resource}"
