"""``jetkube rolling-update``'s decisions, pure: the next step, and the RCs it starts from.

kubectl 1.2's rolling updater with its defaults (max surge 1, max unavailable 0): the new
ReplicationController goes up while the old one goes down, never more than ``desired + 1`` pods,
never fewer than ``desired`` ready. :func:`next_step` gives one step at a time from the two RCs'
sizes and ready pods; the command waits for readiness and ``--update-period`` between steps.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from schemas.errors import BadRequest

Obj = dict[str, Any]
DESIRED = "kubectl.kubernetes.io/desired-replicas"
ORIGINAL = "kubectl.kubernetes.io/original-replicas"
SOURCE = "kubectl.kubernetes.io/update-source-id"
PARTNER = "kubectl.kubernetes.io/update-partner"
KEY = "deployment"  # kubectl's --deployment-label-key


@dataclass(frozen=True)
class Counts:
    old: int
    new: int
    old_ready: int
    new_ready: int


@dataclass(frozen=True)
class Step:
    action: Literal["up", "down", "wait", "done"]
    replicas: int = 0


def next_step(c: Counts, desired: int, surge: int = 1, unavailable: int = 0) -> Step:
    """Scale the new RC up within the surge, else the old one down within the availability."""
    if c.new >= desired and c.old == 0:
        return Step("done")
    if c.new < desired and c.old + c.new < desired + surge:
        return Step("up", min(desired, desired + surge - c.old))
    if c.old > 0:
        removable = c.old_ready + c.new_ready - (desired - unavailable)
        if removable > 0:
            return Step("down", max(0, c.old - removable))
    return Step("wait")


def _claims(rc: Obj, pods_of: Obj) -> bool:
    selector = (rc.get("spec") or {}).get("selector") or {}
    labels = ((((pods_of.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")) or {}
    return all(labels.get(k) == v for k, v in selector.items())


def selector_differs(old: Obj, new: Obj) -> bool:
    """Neither RC's selector matches the other's pods (else both would count them as their own)."""
    return not _claims(old, new) and not _claims(new, old)


def template_hash(rc: Obj) -> str:
    text = json.dumps((rc.get("spec") or {}).get("template") or {}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def with_key(rc: Obj, value: str) -> Obj:
    """A copy of ``rc`` whose selector and pod labels carry ``deployment=value``."""
    out = copy.deepcopy(rc)
    spec = out.setdefault("spec", {})
    spec["selector"] = {**(spec.get("selector") or {}), KEY: value}
    meta = spec.setdefault("template", {}).setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), KEY: value}
    return out


def new_from_image(old: Obj, image: str, container: str = "") -> Obj:
    """``--image``: the old RC with one container's image changed, keyed by the new template's hash."""
    containers = (((old.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    if len(containers) > 1 and not container:
        raise BadRequest("must specify --container when the controller has more than one container")
    new = copy.deepcopy(old)
    found = False
    for c in new["spec"]["template"]["spec"]["containers"]:
        if not container or c.get("name") == container:
            if c.get("image") == image:
                raise BadRequest(f"the image {image} is already the one in use: specify a different image")
            c["image"] = image
            found = True
    if not found:
        raise BadRequest(f'container "{container}" not found in the controller')
    spec_labels = (new["spec"]["template"].get("metadata") or {}).get("labels") or {}
    new["spec"]["template"].setdefault("metadata", {})["labels"] = {
        k: v for k, v in spec_labels.items() if k != KEY
    }
    new["spec"]["selector"] = {k: v for k, v in (new["spec"].get("selector") or {}).items() if k != KEY}
    digest = template_hash(new)
    new = with_key(new, digest)
    name = str(old["metadata"]["name"])
    base = (
        name.rsplit("-", 1)[0]
        if len(name.rsplit("-", 1)[-1]) == 10 and KEY in (old["spec"].get("selector") or {})
        else name
    )
    new["metadata"] = {
        "name": f"{base}-{digest}",
        "namespace": old["metadata"].get("namespace"),
        "labels": dict(old["metadata"].get("labels") or {}),
    }
    new.pop("status", None)
    return new


def fresh(rc: Obj) -> Obj:
    """The parts of an RC a new object keeps (no uid, revision, status)."""
    meta = rc.get("metadata") or {}
    keep = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": keep,
        "spec": copy.deepcopy(rc.get("spec") or {}),
    }
