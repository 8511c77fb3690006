"""Server-side apply's field ownership (Kubernetes' structured-merge-diff, as kubectl users see it).
Pure: dicts in, dicts out, no I/O.

Every write records who set which fields in ``metadata.managedFields``: one entry per field manager
and operation (``Apply`` for server-side apply, ``Update`` for create, update and patch), with the
manager's ``apiVersion``, the time of its last write and its fields in Kubernetes' ``FieldsV1``
encoding: a tree of ``f:<field>`` (a map's field), ``k:{"name":"x"}`` (the element of a list merged
on a key: containers by ``name``, container ports by ``containerPort``, env by ``name``, the table
is :data:`schemas.patch.MERGE_KEYS`), ``v:<json>`` (a member of a set-like list: finalizers) and
``.`` (the element itself, beside its fields). Other lists are atomic: owned as one leaf.

A field set here is a ``set`` of paths (schemas/fieldsets.py: the paths of an object, the
encoding); a path is a tuple of those encoded elements, so ``("f:spec", "f:replicas")`` or
``("f:spec", "f:containers", 'k:{"name":"x"}', "f:image")``.

The rules (sigs.k8s.io/structured-merge-diff's ``Updater``):

* Update: the writer gains the fields it added or changed; every other manager loses them (no
  conflicts for an update); fields that are gone leave every manager.
* Apply: the applier's set is exactly the fields its configuration names. The configuration is
  merged onto the live object; fields the applier applied before and names no more are removed,
  unless another manager owns them (or something under them). A field another manager owns that
  the apply would add or change is a conflict (409, ``FieldManagerConflict`` causes), unless
  ``force``, which takes it from them; applying the value a field already has makes its ownership
  shared.

As kube-apiserver's lastAppliedManager, a conflict of manager ``kubectl`` on fields of client-side
apply's ``last-applied-configuration`` is no conflict (:func:`last_applied_fields`): ``kubectl apply``
then ``kubectl apply --server-side`` takes the fields over.

Migration: jetkube's earlier ``apply --server-side`` kept each manager's last configuration in the
annotation ``apply.jetkube.io/<manager>``; :func:`migrate_annotations` reads it once as that
manager's applied set and drops it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.errors import BadRequest, Conflict
from schemas.fieldsets import (
    IGNORED_META,
    Path,
    decode_fields,
    encode_fields,
    field_set,
    field_values,
    path_string,
)
from schemas.patch import strategic_merge_patch

Operation = Literal["Apply", "Update"]

LEGACY_ANNOTATION = "apply.jetkube.io/"
MAX_MANAGER_LENGTH = 128  # kube-apiserver's limit on a fieldManager

_DIRECTIVES = ("$patch", "$setElementOrder/", "$deleteFromPrimitiveList/", "$retainKeys")


# --------------------------------------------------------------------------------------------------
# Entries


@dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    fields: set[Path]
    time: str | None = None
    subresource: str | None = None

    @property
    def ident(self) -> tuple[str, str, str | None]:
        return (self.manager, self.operation, self.subresource or None)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = encode_fields(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def read_entries(obj: dict[str, Any] | None) -> list[Entry]:
    """The entries of ``obj``'s ``metadata.managedFields`` (none for None)."""
    raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    if not isinstance(raw, list):
        raise BadRequest("metadata.managedFields: Invalid value: must be a list")
    entries = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("manager"), str):
            raise BadRequest(f"metadata.managedFields[{i}].manager: Required value")
        entries.append(
            Entry(
                manager=str(item["manager"]),
                operation=str(item.get("operation") or "Update"),
                api_version=str(item.get("apiVersion") or ""),
                fields=decode_fields(item.get("fieldsV1")),
                time=item.get("time"),
                subresource=item.get("subresource") or None,
            )
        )
    return entries


def write_entries(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    return [e.to_api() for e in entries if e.fields]


# --------------------------------------------------------------------------------------------------
# The request's field manager


@dataclass(frozen=True)
class Writer:
    """Who writes and how: ``operation`` Apply carries the applied configuration's field set."""

    manager: str
    operation: Operation = "Update"
    api_version: str = ""
    subresource: str | None = None
    force: bool = False
    applied: frozenset[Path] = field(default_factory=frozenset)


def check_manager(manager: Any, *, required: bool) -> str | None:
    """A fieldManager as sent: a string of printable characters, at most 128 long."""
    if manager in (None, ""):
        if required:
            raise BadRequest("fieldManager: Required value: is required for apply requests")
        return None
    if not isinstance(manager, str):
        raise BadRequest("fieldManager: Invalid value: must be a string")
    if len(manager) > MAX_MANAGER_LENGTH:
        raise BadRequest(
            f'fieldManager: Invalid value: "{manager[:40]}...": must be no more than '
            f"{MAX_MANAGER_LENGTH} characters"
        )
    if not manager.isprintable():
        raise BadRequest(f"fieldManager: Invalid value: {manager!r}: must only contain printable characters")
    return manager


def manager_from_user_agent(user_agent: str | None) -> str | None:
    """kube-apiserver's default fieldManager: the User-Agent up to its first ``/``."""
    if not user_agent:
        return None
    prefix = user_agent.split("/", 1)[0].strip()
    prefix = "".join(ch for ch in prefix if ch.isprintable())
    return prefix[:MAX_MANAGER_LENGTH] or None


# --------------------------------------------------------------------------------------------------
# Apply: merge and prune


def applied_config(config: dict[str, Any]) -> dict[str, Any]:
    """The applied configuration as it is merged: no status, no bookkeeping metadata."""
    out = {k: v for k, v in config.items() if k != "status"}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = {
            k: v for k, v in meta.items() if k not in IGNORED_META or k in ("name", "namespace")
        }
    return out


def merge_applied(live: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The live object with the applied configuration merged in (lists on their merge keys)."""
    return strategic_merge_patch(live, _no_directives(applied_config(config)))


def _no_directives(value: Any) -> Any:
    """Strategic-merge directives mean nothing in an applied configuration: refuse them."""
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, str) and key.startswith(_DIRECTIVES):
                raise BadRequest(
                    f"{key}: Invalid value: directives are not allowed in an applied configuration"
                )
        return {k: _no_directives(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_directives(v) for v in value]
    return value


def to_prune(last: set[Path], applied: set[Path], others: set[Path]) -> list[Path]:
    """The paths the applier applied before, names no more, and that no one else holds (neither the
    path nor anything under it), deepest first."""
    dropped = last - applied
    if not dropped:
        return []
    held = others | applied
    prefixes: set[Path] = set()
    for p in held:
        for i in range(1, len(p)):
            prefixes.add(p[:i])
    out = [p for p in dropped if p not in held and p not in prefixes]
    # a dropped element removes its fields with it: keep only the outermost dropped paths
    outer = set(out)
    out = [p for p in out if not any(p[:i] in outer for i in range(1, len(p)))]
    return sorted(out, key=len, reverse=True)


def prune(obj: dict[str, Any], paths: Iterable[Path], keep: set[Path]) -> dict[str, Any]:
    """``obj`` without ``paths``; a map or list emptied by a removal goes too, unless it is in
    ``keep`` (owned)."""
    out = copy.deepcopy(obj)
    for path in paths:
        _remove(out, path, keep)
    return out


def _remove(root: dict[str, Any], path: Path, keep: set[Path]) -> None:
    chain: list[tuple[Any, Any]] = []  # (container, index) from the top down
    node: Any = root
    for element in path:
        index = _locate(node, element)
        if index is None:
            return
        chain.append((node, index))
        node = node[index]
    for depth in range(len(chain) - 1, -1, -1):
        container, index = chain[depth]
        del container[index]
        if container or depth == 0 or path[:depth] in keep:
            break


def _locate(node: Any, element: str) -> Any:
    kind, text = element[:2], element[2:]
    if kind == "f:" and isinstance(node, dict):
        return text if text in node else None
    if isinstance(node, list):
        if kind == "k:":
            try:
                keys = json.loads(text)
            except ValueError:
                return None
            for i, item in enumerate(node):
                if isinstance(item, dict) and all(item.get(k) == v for k, v in keys.items()):
                    return i
        elif kind == "v:":
            try:
                wanted = json.loads(text)
            except ValueError:
                return None
            for i, item in enumerate(node):
                if item == wanted:
                    return i
    return None


# --------------------------------------------------------------------------------------------------
# Ownership after a write


class ApplyConflict(Conflict):
    """An apply's conflicts with other managers (a 409 Conflict); ``paths`` are the fields."""

    def __init__(self, message: str, *, details: dict[str, Any], conflicts: list[tuple[Entry, Path]]) -> None:
        super().__init__(message, details=details)
        self.conflicts = conflicts

    @property
    def paths(self) -> list[Path]:
        return [p for _e, p in self.conflicts]


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CSA_UPGRADER = "kubectl"  # kube-apiserver lets only this manager take over client-side apply's fields


def last_applied_fields(live: dict[str, Any]) -> set[Path]:
    """The fields of client-side apply's last configuration (its annotation), which kubectl's
    server-side apply may take without a conflict (kube-apiserver's lastAppliedManager)."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        last = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return set()
    return field_set(applied_config(last)) if isinstance(last, dict) else set()


def conflict_error(conflicts: list[tuple[Entry, Path]]) -> ApplyConflict:
    """The 409 kube-apiserver answers for an apply's conflicts, worded as it words them."""
    causes = [
        {"type": "FieldManagerConflict", "message": f"conflict with {_who(e)}", "field": path_string(p)}
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_who(entry)}: {path_string(path)}"
    else:
        by: dict[str, list[Path]] = {}
        for entry, path in conflicts:
            by.setdefault(_who(entry), []).append(path)
        lines = []
        for who in sorted(by):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {path_string(p)}" for p in by[who])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApplyConflict(message, details={"causes": causes}, conflicts=conflicts)


def _who(entry: Entry) -> str:
    """A manager as kube-apiserver names it in conflicts (printManager over its manager identifier,
    which holds no time, and no apiVersion for an applier): ``"kubectl"`` for an applier,
    ``"kubectl-client-side-apply" using apps/v1`` for an updater, ``with subresource "scale"``."""
    text = json.dumps(entry.manager)
    if entry.subresource:
        text += f" with subresource {json.dumps(entry.subresource)}"
    if entry.operation == "Update":
        text += f" using {entry.api_version}"
    return text


def _diff(old: dict[Path, Any], new: dict[Path, Any]) -> tuple[set[Path], set[Path]]:
    """(added or modified, removed) between two field-value maps."""
    changed = {p for p, v in new.items() if p not in old or old[p] != v}
    removed = {p for p in old if p not in new}
    return changed, removed


def record(
    entries: list[Entry],
    old: dict[str, Any] | None,
    new: dict[str, Any],
    writer: Writer,
    now: str,
) -> list[Entry]:
    """The entries after ``writer`` turned ``old`` (None: a create) into ``new``.

    Raises the apply Conflict when an apply without ``force`` would change another manager's
    fields. ``entries`` are not changed."""
    sub = writer.subresource if writer.subresource == "status" else None
    changed, removed = _diff(field_values(old, subresource=sub), field_values(new, subresource=sub))
    me = (writer.manager, writer.operation, writer.subresource or None)
    out: list[Entry] = []
    conflicts: list[tuple[Entry, Path]] = []
    mine: Entry | None = None
    for entry in entries:
        if entry.ident == me:
            mine = Entry(
                entry.manager,
                entry.operation,
                entry.api_version,
                set(entry.fields),
                entry.time,
                entry.subresource,
            )
            out.append(mine)
            continue
        lost = entry.fields & changed
        if lost and writer.operation == "Apply" and not writer.force:
            conflicts.extend((entry, p) for p in sorted(lost))
        fields = entry.fields - lost - removed
        if fields != entry.fields:
            entry = Entry(
                entry.manager, entry.operation, entry.api_version, fields, entry.time, entry.subresource
            )
        if entry.fields:
            out.append(entry)
    if conflicts:
        raise conflict_error(conflicts)
    if mine is None:
        mine = Entry(
            writer.manager, writer.operation, writer.api_version, set(), None, writer.subresource or None
        )
        out.append(mine)
    before = set(mine.fields)
    if writer.operation == "Apply":
        mine.fields = set(writer.applied)
    else:
        mine.fields = (mine.fields - removed) | changed
    if changed or removed or mine.fields != before or mine.api_version != writer.api_version:
        mine.time = now
        mine.api_version = writer.api_version or mine.api_version
    return [e for e in out if e.fields]


def same_ownership(a: list[Entry], b: list[Entry]) -> bool:
    """Equal entries, times aside."""
    return [(e.ident, e.api_version, e.fields) for e in a] == [(e.ident, e.api_version, e.fields) for e in b]


# --------------------------------------------------------------------------------------------------
# Migration of the annotation apply.jetkube.io/<manager>


def migrate_annotations(
    entries: list[Entry], obj: dict[str, Any], api_version: str
) -> tuple[list[Entry], dict[str, Any]]:
    """Turn each ``apply.jetkube.io/<manager>`` annotation into that manager's Apply entry (when it
    has none) and drop the annotations. Returns (entries, object); unchanged when there are none."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    legacy = {k: v for k, v in annotations.items() if k.startswith(LEGACY_ANNOTATION)}
    if not legacy:
        return entries, obj
    out = list(entries)
    have = {e.ident for e in out}
    for key, text in sorted(legacy.items()):
        manager = key[len(LEGACY_ANNOTATION) :]
        if (manager, "Apply", None) in have:
            continue
        try:
            last = json.loads(text)
        except (TypeError, ValueError):
            continue  # unreadable: the manager starts afresh
        if not isinstance(last, dict):
            continue
        fields = field_set(applied_config(last)) - {("f:metadata", "f:annotations", "f:" + key)}
        if fields:
            out.append(Entry(manager, "Apply", str(last.get("apiVersion") or api_version), fields))
    kept = {k: v for k, v in annotations.items() if k not in legacy}
    new_meta = (
        {**meta, "annotations": kept} if kept else {k: v for k, v in meta.items() if k != "annotations"}
    )
    gone = {("f:metadata", "f:annotations", "f:" + k) for k in legacy}
    out = [Entry(e.manager, e.operation, e.api_version, e.fields - gone, e.time, e.subresource) for e in out]
    return [e for e in out if e.fields], {**obj, "metadata": new_meta}


def iter_paths(paths: Iterable[Path]) -> Iterator[str]:
    """The paths as Kubernetes prints them (sorted), for messages and tests."""
    return iter(sorted(path_string(p) for p in paths))


def prepare_apply(
    live: dict[str, Any], config: dict[str, Any], writer: Writer
) -> tuple[dict[str, Any], list[Entry], Writer]:
    """What an apply writes onto ``live``: the merged and pruned object, the entries to record it
    against (legacy annotations migrated), and the writer carrying the applied field set."""
    api_version = str(config.get("apiVersion") or live.get("apiVersion") or "")
    entries, live = migrate_annotations(read_entries(live), live, api_version)
    applied = field_set(applied_config(config))
    ident = (writer.manager, "Apply", writer.subresource or None)
    last: set[Path] = set()
    others: set[Path] = set()
    for entry in entries:
        if entry.ident == ident:
            last = entry.fields
        else:
            others |= entry.fields
    merged = merge_applied(live, config)
    merged = prune(merged, to_prune(last, applied, others), others | applied)
    return (
        merged,
        entries,
        Writer(writer.manager, "Apply", api_version, writer.subresource, writer.force, frozenset(applied)),
    )
