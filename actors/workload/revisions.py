"""ControllerRevisions of StatefulSets and DaemonSets, as Kubernetes' ``controller_history.go``.

A revision is an immutable snapshot of the owner's pod template, named ``<owner>-<hash>`` (the hash
of the template the controller already computes), labelled with the owner's selector labels and
``controller-revision-hash``, controlled by the owner (so the garbage collector removes it with
the owner), and numbered: ``revision`` is 1 + the highest number the owner's revisions have.
``data`` holds the template as Kubernetes stores it (``{"spec": {"template": {..., "$patch":
"replace"}}}``).

- :func:`plan_revisions` (pure): the revision to create for the current template, or the
  existing one to renumber (a rollback back to an old template makes it the newest, as
  Kubernetes does), and the old revisions beyond ``revisionHistoryLimit`` (default 10) that no
  live pod still uses, to delete;
- :func:`history` and :func:`rollback_template` (pure): ``rollout history`` and ``rollout undo``;
- :func:`sync_revisions`, :func:`list_history` and :func:`undo`: the api calls around them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from actors.workload.ownership import is_controlled_by
from actors.workload.podutil import meta, name_of, owner_reference
from schemas.errors import AlreadyExists, BadRequest, Conflict, NotFound

Obj = dict[str, Any]
HASH_LABEL = "controller-revision-hash"
CHANGE_CAUSE = "kubernetes.io/change-cause"
DEFAULT_HISTORY_LIMIT = 10
KINDS = {"statefulsets": "StatefulSet", "daemonsets": "DaemonSet"}


@dataclass
class Revision:
    """One line of ``rollout history`` (the fields of the Deployment's, which the CLI prints)."""

    revision: int
    change_cause: str | None
    replicaset: str  # the ControllerRevision's name
    template: Obj


@dataclass
class RevisionPlan:
    create: Obj | None = None
    renumber: tuple[str, int] | None = None  # (revision name, new number)
    delete: list[str] = field(default_factory=list)


def revision_name(owner: Obj, hash_: str) -> str:
    """``web-7d9f8c``; a hash that already carries the owner's name (StatefulSets') is kept."""
    prefix = f"{name_of(owner)}-"
    return hash_ if hash_.startswith(prefix) else prefix + hash_


def template_of(revision: Obj) -> Obj:
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def owned(owner: Obj, revisions: list[Obj]) -> list[Obj]:
    """The owner's revisions, oldest number first."""
    uid = meta(owner).get("uid")
    mine = [r for r in revisions if uid and is_controlled_by(r, uid)]
    return sorted(mine, key=lambda r: (int(r.get("revision") or 0), name_of(r)))


def plan_revisions(owner: Obj, kind: str, revisions: list[Obj], hash_: str, in_use: set[str]) -> RevisionPlan:
    """What to write so the owner's current template has the newest revision.

    ``revisions`` are the owner's (see :func:`owned`); ``in_use`` the hash labels of its live pods."""
    out = RevisionPlan()
    spec = owner.get("spec") or {}
    name = revision_name(owner, hash_)
    highest = max((int(r.get("revision") or 0) for r in revisions), default=0)
    current = next((r for r in revisions if name_of(r) == name), None)
    if current is None:
        template = copy.deepcopy(spec.get("template") or {})
        labels = dict(((spec.get("selector") or {}).get("matchLabels")) or {})
        labels[HASH_LABEL] = hash_
        annotations = {}
        cause = (meta(owner).get("annotations") or {}).get(CHANGE_CAUSE)
        if cause:
            annotations[CHANGE_CAUSE] = cause
        out.create = {
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": name,
                "namespace": meta(owner).get("namespace") or "default",
                "labels": labels,
                **({"annotations": annotations} if annotations else {}),
                "ownerReferences": [owner_reference(owner, "apps/v1", kind)],
            },
            "data": {"spec": {"template": {**template, "$patch": "replace"}}},
            "revision": highest + 1,
        }
    elif int(current.get("revision") or 0) < highest:
        out.renumber = (name, highest + 1)
    limit = spec.get("revisionHistoryLimit")
    limit = DEFAULT_HISTORY_LIMIT if limit is None else int(limit)
    live_names = {revision_name(owner, h) for h in in_use}
    old = [r for r in revisions if name_of(r) != name and name_of(r) not in live_names]
    if len(old) > limit:
        out.delete = [name_of(r) for r in old[: len(old) - limit]]
    return out


def history(owner: Obj, revisions: list[Obj]) -> list[Revision]:
    """``rollout history``: the owner's revisions, oldest first."""
    out = []
    for r in owned(owner, revisions):
        cause = (meta(r).get("annotations") or {}).get(CHANGE_CAUSE)
        out.append(Revision(int(r.get("revision") or 0), cause, name_of(r), template_of(r)))
    return out


def rollback_template(owner: Obj, revisions: list[Obj], to_revision: int = 0) -> tuple[Obj, int]:
    """The template (and its number) ``rollout undo [--to-revision N]`` puts back; 0: the previous."""
    hist = history(owner, revisions)
    if to_revision:
        for rev in hist:
            if rev.revision == to_revision:
                return rev.template, rev.revision
        raise NotFound(f"unable to find specified revision {to_revision} in history")
    if len(hist) < 2:
        raise BadRequest(f"no rollout history found for {name_of(owner)!r}")
    rev = hist[-2]
    return rev.template, rev.revision


async def sync_revisions(
    api: Any, owner: Obj, kind: str, revisions: list[Obj], hash_: str, in_use: set[str]
) -> None:
    """Write what :func:`plan_revisions` says (an informer's lag is fine: writes are idempotent)."""
    namespace = meta(owner).get("namespace") or "default"
    mine = owned(owner, revisions)
    out = plan_revisions(owner, kind, mine, hash_, in_use)
    if out.create is not None:
        try:
            await api.create("controllerrevisions", out.create, namespace=namespace)
        except AlreadyExists:
            pass
    if out.renumber is not None:
        name, number = out.renumber
        try:
            rev = await api.get("controllerrevisions", name, namespace)
            rev["revision"] = number
            await api.update("controllerrevisions", rev, namespace=namespace)
        except (NotFound, Conflict):
            pass  # the next reconcile sees it
    for name in out.delete:
        try:
            await api.delete("controllerrevisions", name, namespace=namespace)
        except NotFound:
            pass


async def list_history(api: Any, resource: str, namespace: str, name: str) -> list[Revision]:
    owner = await api.get(resource, name, namespace=namespace)
    listed = await api.list("controllerrevisions", namespace=namespace)
    return history(owner, list(listed.get("items") or []))


async def undo(api: Any, resource: str, namespace: str, name: str, to_revision: int = 0) -> str:
    """``rollout undo``: put the revision's template back into the owner; kubectl's message."""
    owner = await api.get(resource, name, namespace=namespace)
    listed = await api.list("controllerrevisions", namespace=namespace)
    kind = KINDS[resource].lower()
    try:
        template, number = rollback_template(owner, list(listed.get("items") or []), to_revision)
    except BadRequest:
        raise BadRequest(f"no rollout history found for {kind} {name!r}") from None
    if template == (owner.get("spec") or {}).get("template"):
        return f"{kind}.apps/{name} skipped rollback (current template already matches revision {number})"
    changed = copy.deepcopy(owner)
    changed["spec"]["template"] = template
    await api.update(resource, changed, namespace=namespace)
    return f"{kind}.apps/{name} rolled back"
