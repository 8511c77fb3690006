"""The ``local-path`` provisioner (as k3s ships Rancher's): a directory on one node per claim.

Provisioning is pure here: :func:`provisioned_volume` makes the PersistentVolume for a claim whose
class names this provisioner, once the scheduler chose the node (``WaitForFirstConsumer``): a
``hostPath`` (``DirectoryOrCreate``: the kubelet makes the directory when the first pod mounts it)
at ``<nodePath>/<pv>_<namespace>_<claim>`` with a required node affinity on that node's
``kubernetes.io/hostname``, so every later pod of the claim is scheduled where its data is. The
volume is pre-bound to the claim (``claimRef`` with the uid); the binder then binds the claim.

Deletion (reclaim policy ``Delete``) runs a helper pod on the volume's node, as Rancher's
provisioner does, that removes the directory (:func:`cleanup_pod`); when it has succeeded the
controller deletes the helper and the volume. Under ``Retain`` the volume stays Released and the
directory stays on the node.

The class's ``parameters.nodePath`` picks the base directory (default
:data:`DEFAULT_NODE_PATH`); tests give each run its own.
"""

from __future__ import annotations

from typing import Any

from actors.storage.binding import PROVISIONED_BY, claim_ref, name_of

Obj = dict[str, Any]

PROVISIONER = "rancher.io/local-path"
CLASS_NAME = "local-path"
DEFAULT_NODE_PATH = "/var/lib/jetkube/local-path"
HELPER_NAMESPACE = "kube-system"
HELPER_IMAGE = "busybox:latest"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def default_class() -> Obj:
    """The built-in class ``jetkube up`` makes, the cluster's default."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": CLASS_NAME,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def volume_name(claim: Obj) -> str:
    return f"pvc-{(claim.get('metadata') or {}).get('uid')}"


def node_path(klass: Obj) -> str:
    return str((klass.get("parameters") or {}).get("nodePath") or DEFAULT_NODE_PATH).rstrip("/")


def provisioned_volume(claim: Obj, klass: Obj, node: str) -> Obj:
    meta = claim.get("metadata") or {}
    spec = claim.get("spec") or {}
    name = volume_name(claim)
    directory = f"{name}_{meta.get('namespace') or 'default'}_{meta.get('name')}"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": name,
            "annotations": {PROVISIONED_BY: PROVISIONER, "local.path.provisioner/selected-node": node},
        },
        "spec": {
            "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage")},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": klass.get("reclaimPolicy") or "Delete",
            "storageClassName": name_of(klass),
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "claimRef": {k: v for k, v in claim_ref(claim).items() if k != "resourceVersion"},
            "hostPath": {"path": f"{node_path(klass)}/{directory}", "type": "DirectoryOrCreate"},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}
                    ]
                }
            },
        },
    }


def volume_node(volume: Obj) -> str | None:
    """The node a local-path volume lives on (its node affinity's hostname)."""
    spec = volume.get("spec") or {}
    terms = (((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms")) or []
    for term in terms:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == HOSTNAME_LABEL and expr.get("operator") == "In" and expr.get("values"):
                return str(expr["values"][0])
    return None


def helper_name(volume: Obj) -> str:
    return f"helper-{name_of(volume)}"


def cleanup_pod(volume: Obj) -> Obj | None:
    """The helper pod that removes a deleted volume's directory on its node (None: not local-path)."""
    node = volume_node(volume)
    path = str(((volume.get("spec") or {}).get("hostPath") or {}).get("path") or "")
    if node is None or "/" not in path.strip("/"):
        return None
    parent, _, leaf = path.rstrip("/").rpartition("/")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": helper_name(volume),
            "namespace": HELPER_NAMESPACE,
            "labels": {"app": "local-path-helper", "volume": name_of(volume)},
        },
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": "cleanup",
                    "image": HELPER_IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["rm", "-rf", f"/data/{leaf}"],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "hostPath": {"path": parent, "type": "DirectoryOrCreate"}}],
        },
    }


async def ensure_default_class(store: Any, node_path: str | None = None) -> bool:
    """Create the built-in ``local-path`` class unless a class of that name exists (``jetkube up``);
    True when it was created. ``node_path``: where the volumes' directories go on each node."""
    from schemas.errors import AlreadyExists

    klass = default_class()
    if node_path:
        klass["parameters"] = {"nodePath": node_path}
    try:
        await store.create("storageclasses", klass)
    except AlreadyExists:
        return False
    return True
