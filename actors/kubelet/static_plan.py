"""Static pods and their mirror pods: pure decisions (no files, no NATS).

A manifest file's pod becomes the static pod ``<name>-<node>`` (Kubernetes' naming) in its
namespace (``default`` when unset), bound to this node. Its uid *is* its config hash (an md5 of
the canonical pod and the node's name, as the kubelet computes it), so editing the file makes a
new pod: the kubelet stops the old one and starts the new one. Annotations, as Kubernetes sets
them: ``kubernetes.io/config.source: file``, ``kubernetes.io/config.hash: <hash>``.

The mirror pod is what the api shows of a static pod: the same pod with the annotation
``kubernetes.io/config.mirror: <hash>``, owned by the Node (kind Node, controller true), with the
api's own uid. :func:`plan_mirrors` compares the static pods with the mirrors the api holds:

* missing -> create it;
* being deleted (someone ran ``jetkube delete``), or of an older hash (the file changed) ->
  delete it at once (grace 0); it is created again on a later pass, once gone;
* a mirror without a static pod (the file went) -> delete it;
* otherwise, a kubelet status not yet written to this mirror -> write it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from schemas.decode import normalize
from schemas.errors import BadRequest, JetkubeError

SOURCE_ANNOTATION = "kubernetes.io/config.source"
HASH_ANNOTATION = "kubernetes.io/config.hash"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SOURCE_FILE = "file"


def is_mirror(pod: dict[str, Any]) -> bool:
    return MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def pod_key(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


def config_hash(pod: dict[str, Any], node_name: str) -> str:
    canonical = json.dumps(pod, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.md5(f"{node_name}\n{SOURCE_FILE}\n{canonical}".encode(), usedforsecurity=False).hexdigest()


def static_pod(obj: dict[str, Any], node_name: str) -> dict[str, Any]:
    """A manifest's object as this node's static pod (normalized, named, bound, hashed)."""
    if not isinstance(obj, dict) or obj.get("kind") != "Pod":
        kind = obj.get("kind") if isinstance(obj, dict) else type(obj).__name__
        raise BadRequest(f"a static pod manifest holds a Pod, not {kind}")
    pod = normalize(obj)
    meta = pod["metadata"]
    for managed in ("uid", "resourceVersion", "creationTimestamp", "generation", "ownerReferences"):
        meta.pop(managed, None)
    pod.pop("status", None)
    meta["name"] = f"{meta['name']}-{node_name.lower()}"
    meta["namespace"] = meta.get("namespace") or "default"
    pod["spec"]["nodeName"] = node_name
    digest = config_hash(pod, node_name)
    meta["uid"] = digest
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        SOURCE_ANNOTATION: SOURCE_FILE,
        HASH_ANNOTATION: digest,
    }
    return pod


def parse_manifest(text: str, node_name: str) -> list[dict[str, Any]]:
    """Every pod of one file (YAML or JSON; several documents, or a List, allowed).

    Raises BadRequest/Invalid naming what is wrong; an empty file holds no pod."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise BadRequest(f"cannot parse the manifest: {exc}") from None
    objects: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List"):
            objects.extend(doc.get("items") or [])
        else:
            objects.append(doc)
    return [static_pod(o, node_name) for o in objects]


@dataclass
class ManifestSet:
    """The static pods of a folder: by key, plus the problems found (file -> message)."""

    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def merge_files(parsed: list[tuple[str, list[dict[str, Any]] | JetkubeError]]) -> ManifestSet:
    """Files (in name order) to one set; a name defined twice keeps the first file's."""
    out = ManifestSet()
    for filename, result in parsed:
        if isinstance(result, JetkubeError):
            out.problems[filename] = result.message
            continue
        for pod in result:
            key = pod_key(pod)
            if key in out.pods:
                out.problems[filename] = f"pod {key} is already defined by another file; ignored"
                continue
            out.pods[key] = pod
    return out


def mirror_pod(pod: dict[str, Any], node_name: str, node_uid: str) -> dict[str, Any]:
    mirror = copy.deepcopy(pod)
    meta = mirror["metadata"]
    digest = meta["annotations"][HASH_ANNOTATION]
    meta.pop("uid", None)
    meta["annotations"][MIRROR_ANNOTATION] = digest
    meta["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid, "controller": True}
    ]
    return mirror


@dataclass(frozen=True)
class MirrorAction:
    verb: Literal["create", "delete", "status"]
    key: str
    body: dict[str, Any]


def plan_mirrors(
    static: dict[str, dict[str, Any]],
    mirrors: dict[str, dict[str, Any]],
    statuses: dict[str, dict[str, Any] | None],
    written: dict[str, tuple[str | None, Any]],
    *,
    node_name: str,
    node_uid: str,
) -> list[MirrorAction]:
    """What to do to the api so that its mirrors match the static pods. ``written`` maps a key to
    (mirror uid, status) last written, so a status is written once per change and per mirror."""
    actions: list[MirrorAction] = []
    for key, pod in sorted(static.items()):
        mirror = mirrors.get(key)
        digest = pod["metadata"]["annotations"][HASH_ANNOTATION]
        if mirror is None:
            actions.append(MirrorAction("create", key, mirror_pod(pod, node_name, node_uid)))
            continue
        meta = mirror.get("metadata") or {}
        if meta.get("deletionTimestamp") or (meta.get("annotations") or {}).get(MIRROR_ANNOTATION) != digest:
            actions.append(MirrorAction("delete", key, mirror))
            continue
        status = statuses.get(key)
        if status and written.get(key) != (meta.get("uid"), status):
            updated = copy.deepcopy(mirror)
            updated["status"] = copy.deepcopy(status)
            actions.append(MirrorAction("status", key, updated))
    for key, mirror in sorted(mirrors.items()):
        if key not in static:
            actions.append(MirrorAction("delete", key, mirror))
    return actions
