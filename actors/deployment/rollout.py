"""``jetkube rollout``: status, history, undo and restart, as kubectl does them.

The pure parts (:func:`rollout_status`, :func:`history`, :func:`rollback_template`,
:func:`restart_patch`) take objects in and give answers out; :func:`undo`, :func:`list_history` and
:func:`restart` are thin helpers over the api client for the CLI.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from actors.deployment import conditions as dc
from actors.deployment import util as du
from actors.workload.hashing import equal_ignore_hash, without_hash
from actors.workload.ownership import is_controlled_by
from actors.workload.podutil import meta, name_of
from actors.workload.timeutil import utcnow
from schemas.errors import BadRequest, NotFound, Timeout
from schemas.status import format_time


class _Api(Protocol):
    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]: ...
    async def list(self, resource: str, namespace: str | None = None, **kw: Any) -> dict[str, Any]: ...
    async def update(
        self, resource: str, obj: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]: ...
    async def patch(self, resource: str, name: str, patch: Any, **kw: Any) -> dict[str, Any]: ...


def rollout_status(deploy: dict[str, Any], rses: list[dict[str, Any]] | None = None) -> tuple[str, bool]:
    """kubectl's ``DeploymentStatusViewer``: the line to print, and whether the rollout is done.

    A rollout past its progress deadline raises :class:`~schemas.errors.Timeout` with kubectl's
    message (``deployment "nginx" exceeded its progress deadline``), so the CLI exits non-zero.
    ``rses`` is accepted for callers that have them; kubectl's viewer needs only the Deployment.
    """
    name = name_of(deploy)
    status = deploy.get("status") or {}
    if int(meta(deploy).get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return "Waiting for deployment spec update to be observed...", False
    cond = dc.get_condition(status, dc.PROGRESSING)
    if cond is not None and cond.get("reason") == dc.TIMED_OUT:
        raise Timeout(f'deployment "{name}" exceeded its progress deadline')
    replicas = du.replicas_of(deploy)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < replicas:
        return (
            f'Waiting for deployment "{name}" rollout to finish: '
            f"{updated} out of {replicas} new replicas have been updated...",
            False,
        )
    if total > updated:
        return (
            f'Waiting for deployment "{name}" rollout to finish: '
            f"{total - updated} old replicas are pending termination...",
            False,
        )
    if available < updated:
        return (
            f'Waiting for deployment "{name}" rollout to finish: '
            f"{available} of {updated} updated replicas are available...",
            False,
        )
    return f'deployment "{name}" successfully rolled out', True


@dataclass(frozen=True)
class Revision:
    revision: int
    change_cause: str | None
    replicaset: str
    template: dict[str, Any]


def owned_replicasets(deploy: dict[str, Any], rses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    uid = meta(deploy).get("uid")
    return [rs for rs in rses if uid and is_controlled_by(rs, uid)]


def history(deploy: dict[str, Any], rses: list[dict[str, Any]]) -> list[Revision]:
    """``rollout history``: one entry per ReplicaSet at its current revision, oldest first.

    As kubectl does, a ReplicaSet that was rolled back to keeps only its newest number: the numbers
    it had before (its revision-history annotation) are superseded, and ``undo --to-revision`` with
    one of them is "not found"."""
    out: dict[int, Revision] = {}
    for rs in owned_replicasets(deploy, rses):
        anns = meta(rs).get("annotations") or {}
        template = without_hash((rs.get("spec") or {}).get("template") or {})
        rev = du.revision_of(rs)
        if rev > 0:
            out[rev] = Revision(rev, anns.get(du.CHANGE_CAUSE), name_of(rs), template)
    return [out[k] for k in sorted(out)]


def rollback_template(
    deploy: dict[str, Any], rses: list[dict[str, Any]], to_revision: int = 0
) -> dict[str, Any]:
    """The pod template ``rollout undo [--to-revision N]`` puts back; 0 means the previous revision.

    Raises NotFound when the revision is not in the history, BadRequest when there is no previous one.
    """
    revisions = history(deploy, rses)
    if to_revision:
        for rev in revisions:
            if rev.revision == to_revision:
                return copy.deepcopy(rev.template)
        raise NotFound(f"unable to find specified revision {to_revision} in history")
    current = du.revision_of(deploy) or (revisions[-1].revision if revisions else 0)
    previous = [r for r in revisions if r.revision < current]
    if not previous:
        raise BadRequest("no rollout history found for deployment " + repr(name_of(deploy)))
    return copy.deepcopy(previous[-1].template)


async def _owned(api: _Api, namespace: str, deploy: dict[str, Any]) -> list[dict[str, Any]]:
    listed = await api.list("replicasets", namespace=namespace)
    return owned_replicasets(deploy, list(listed.get("items") or []))


async def list_history(api: _Api, namespace: str, name: str) -> list[Revision]:
    deploy = await api.get("deployments", name, namespace=namespace)
    return history(deploy, await _owned(api, namespace, deploy))


async def undo(api: _Api, namespace: str, name: str, to_revision: int = 0) -> tuple[dict[str, Any], str]:
    """``rollout undo``: copy the revision's template into the Deployment (compare-and-set).

    Returns the Deployment and kubectl's message (``deployment.apps/nginx rolled back`` or the
    ``skipped rollback`` line when the template already matches).
    """
    deploy = await api.get("deployments", name, namespace=namespace)
    if (deploy.get("spec") or {}).get("paused"):
        raise BadRequest(
            f"you cannot rollback a paused deployment; resume it first with "
            f'"jetkube rollout resume deployment/{name}" and try again'
        )
    template = rollback_template(deploy, await _owned(api, namespace, deploy), to_revision)
    if equal_ignore_hash(template, (deploy.get("spec") or {}).get("template") or {}):
        rev = to_revision or du.revision_of(deploy)
        return (
            deploy,
            f"deployment.apps/{name} skipped rollback (current template already matches revision {rev})",
        )
    changed = copy.deepcopy(deploy)
    changed["spec"]["template"] = template
    updated = await api.update("deployments", changed, namespace=namespace)
    return updated, f"deployment.apps/{name} rolled back"


def restart_patch(now: datetime) -> dict[str, Any]:
    """``rollout restart``: a merge patch stamping the template so that a new rollout starts."""
    return {"spec": {"template": {"metadata": {"annotations": {du.RESTARTED_AT: format_time(now)}}}}}


async def restart(api: _Api, namespace: str, name: str, now: datetime | None = None) -> dict[str, Any]:
    return await api.patch(
        "deployments", name, restart_patch(now or utcnow()), patch_type="merge", namespace=namespace
    )
