"""Pure decisions of the deployment controller, after Kubernetes' ``pkg/controller/deployment``.

``plan(deploy, rses, pods, now)`` takes the Deployment, the ReplicaSets and pods of its namespace
(from the caches) and returns one sync's worth of actions. The client-go controller writes as it
goes and keeps working on its in-memory copies; this plan does the same on private copies and
lists the writes in order:

- claim ReplicaSets by the selector (adopt orphans, release those that stopped matching);
- the *new* ReplicaSet is the one whose template equals the Deployment's (ignoring the
  ``pod-template-hash`` label); it is created (``<deploy>-<hash>``) when a rollout needs it, and its
  ``deployment.kubernetes.io/revision`` is kept at the highest old revision + 1 (the Deployment
  carries the same annotation);
- a deleted Deployment only gets its status; a paused one or a scaling event (the Deployment's
  replicas differ from the RSes' ``desired-replicas`` annotation) only scales, proportionally
  across the active ReplicaSets as Kubernetes does, and starts no rollout;
- ``RollingUpdate``: scale the new RS up within ``replicas + maxSurge`` pods in total, scale old
  RSes down while at least ``replicas - maxUnavailable`` pods stay available (unhealthy old pods
  first, oldest RS first);
- ``Recreate``: scale every old RS to 0, wait until no old pod is running, then create/scale the
  new one;
- once the rollout is complete, old RSes with 0 replicas beyond ``revisionHistoryLimit`` are deleted;
- status: replicas, updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas,
  observedGeneration, and the conditions Available and Progressing (ProgressDeadlineExceeded once
  ``progressDeadlineSeconds`` pass without progress; ``requeue_after`` says when to look again).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actors.deployment import conditions as dc
from actors.deployment import util as du
from actors.deployment.progress import (
    deployment_complete,
    deployment_progressing,
    old_pods_running,
    stuck_requeue,
    timed_out,
)
from actors.workload.events import Event
from actors.workload.hashing import POD_TEMPLATE_HASH, equal_ignore_hash, template_hash
from actors.workload.ownership import claim
from actors.workload.podutil import meta, name_of, owner_reference
from actors.workload.selector import labels_of, selector_matcher


@dataclass
class RsChange:
    """Changes to one existing ReplicaSet: its replicas, minReadySeconds and annotations to set."""

    name: str
    replicas: int | None = None
    min_ready_seconds: int | None = None
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class DeploymentPlan:
    adopt: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)
    create: dict[str, Any] | None = None  # the new ReplicaSet, complete
    updates: list[RsChange] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    annotations: dict[str, str] | None = None  # annotations to set on the Deployment
    status: dict[str, Any] | None = None  # the new status, None when unchanged
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None


class _Sync:
    """One sync: private copies of the Deployment's ReplicaSets, and the writes made so far."""

    def __init__(self, deploy: dict[str, Any], rses: list[dict[str, Any]], now: datetime) -> None:
        self.d = deploy
        self.now = now
        self.out = DeploymentPlan()
        self.status: dict[str, Any] = copy.deepcopy(deploy.get("status") or {})
        self.rses = sorted((copy.deepcopy(rs) for rs in rses), key=du.created_key)
        self.new: dict[str, Any] | None = self._find_new()
        self.old: list[dict[str, Any]] = [rs for rs in self.rses if rs is not self.new]

    # -- the new ReplicaSet ------------------------------------------------------------------

    def hash(self) -> str:
        template = du.spec(self.d).get("template") or {}
        return template_hash(template, self.status.get("collisionCount"))

    def _find_new(self) -> dict[str, Any] | None:
        template = du.spec(self.d).get("template") or {}
        for rs in self.rses:  # oldest first, as FindNewReplicaSet
            if equal_ignore_hash(du.spec(rs).get("template") or {}, template):
                return rs
        wanted = self.hash()
        for rs in self.rses:  # the api may have defaulted the RS's copy differently
            if (
                labels_of(rs).get(POD_TEMPLATE_HASH) == wanted
                and name_of(rs) == f"{name_of(self.d)}-{wanted}"
            ):
                return rs
        return None

    def change(self, rs: dict[str, Any]) -> RsChange:
        for ch in self.out.updates:
            if ch.name == name_of(rs):
                return ch
        ch = RsChange(name_of(rs))
        self.out.updates.append(ch)
        return ch

    def set_annotations(self, rs: dict[str, Any], values: dict[str, str]) -> bool:
        anns = rs.setdefault("metadata", {}).setdefault("annotations", {})
        changed = {k: v for k, v in values.items() if anns.get(k) != v}
        if not changed:
            return False
        anns.update(changed)
        if rs is not self.out.create:
            self.change(rs).annotations.update(changed)
        return True

    def replicas_annotations(self) -> dict[str, str]:
        replicas = du.replicas_of(self.d)
        return {du.DESIRED_REPLICAS: str(replicas), du.MAX_REPLICAS: str(replicas + du.max_surge(self.d))}

    def sync_revision(self, create: bool) -> None:
        """``getAllReplicaSetsAndSyncRevision``: keep the new RS's revision and create it if asked."""
        new_revision = du.max_revision(self.old) + 1
        if self.new is not None:
            rs = self.new
            wanted = du.copied_annotations(self.d)
            old_revision = du.revision_of(rs)
            if old_revision < new_revision:
                wanted[du.REVISION] = str(new_revision)
                if old_revision > 0:
                    history = (meta(rs).get("annotations") or {}).get(du.REVISION_HISTORY)
                    wanted[du.REVISION_HISTORY] = (
                        f"{history},{old_revision}" if history else str(old_revision)
                    )
            if du.DESIRED_REPLICAS not in (meta(rs).get("annotations") or {}):
                wanted.update(self.replicas_annotations())
            self.set_annotations(rs, wanted)
            min_ready = int(du.spec(self.d).get("minReadySeconds") or 0)
            if int(du.spec(rs).get("minReadySeconds") or 0) != min_ready:
                rs["spec"]["minReadySeconds"] = min_ready
                self.change(rs).min_ready_seconds = min_ready
            self.set_deploy_revision(du.revision_of(rs))
            if dc.get_condition(self.status, dc.PROGRESSING) is None and du.progress_deadline(self.d):
                msg = f'Found new replica set "{name_of(rs)}"'
                cond = dc.new_condition(dc.PROGRESSING, "True", dc.FOUND_NEW_RS, msg, self.now)
                dc.set_condition(self.status, cond)
            return
        if not create:
            return
        rs = self.build_new(new_revision)
        self.out.create = rs
        self.new = rs
        self.rses.append(rs)
        self.set_deploy_revision(new_revision)
        replicas = du.replicas_of(rs)
        self.out.events.append(
            Event("Normal", "ScalingReplicaSet", f"Scaled up replica set {name_of(rs)} to {replicas}")
        )
        if du.progress_deadline(self.d):
            msg = f'Created new replica set "{name_of(rs)}"'
            cond = dc.new_condition(dc.PROGRESSING, "True", dc.NEW_RS_CREATED, msg, self.now)
            dc.remove_condition(self.status, dc.PROGRESSING)
            dc.set_condition(self.status, cond)

    def build_new(self, revision: int) -> dict[str, Any]:
        d_spec = du.spec(self.d)
        h = self.hash()
        template = copy.deepcopy(d_spec.get("template") or {})
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), POD_TEMPLATE_HASH: h}
        selector = copy.deepcopy(du.selector_of(self.d))
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH: h}
        annotations = du.copied_annotations(self.d)
        annotations.update(self.replicas_annotations())
        annotations[du.REVISION] = str(revision)
        rs: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{name_of(self.d)}-{h}",
                "namespace": meta(self.d).get("namespace") or "default",
                "labels": dict(tmeta["labels"]),
                "annotations": annotations,
                "ownerReferences": [owner_reference(self.d, "apps/v1", "Deployment")],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": int(d_spec.get("minReadySeconds") or 0),
                "selector": selector,
                "template": template,
            },
            "status": {"replicas": 0},
        }
        rs["spec"]["replicas"] = self.new_rs_replicas(rs)
        return rs

    def set_deploy_revision(self, revision: int) -> None:
        if revision and du.revision_of(self.d) != revision:
            self.out.annotations = {du.REVISION: str(revision)}

    # -- scaling -----------------------------------------------------------------------------

    def scale(self, rs: dict[str, Any], size: int, op: str | None = None) -> bool:
        """``scaleReplicaSet``: write the size and the replicas annotations; True if the size changed."""
        old_size = du.replicas_of(rs)
        size_changed = old_size != size
        self.set_annotations(rs, self.replicas_annotations())
        if not size_changed:
            return False
        rs.setdefault("spec", {})["replicas"] = size
        if rs is not self.out.create:
            self.change(rs).replicas = size
        op = op or ("up" if size > old_size else "down")
        self.out.events.append(
            Event(
                "Normal",
                "ScalingReplicaSet",
                f"Scaled {op} replica set {name_of(rs)} to {size} from {old_size}",
            )
        )
        return True

    def scale_and_record(self, rs: dict[str, Any], size: int) -> bool:
        if du.replicas_of(rs) == size:
            return False
        return self.scale(rs, size)

    def new_rs_replicas(self, new_rs: dict[str, Any] | None) -> int:
        """``NewRSNewReplicas``."""
        replicas = du.replicas_of(self.d)
        if not du.is_rolling(self.d):
            return replicas
        current = du.sum_spec([rs for rs in self.rses if rs is not new_rs]) + (
            du.replicas_of(new_rs) if new_rs is not None else 0
        )
        max_total = replicas + du.max_surge(self.d)
        new_size = du.replicas_of(new_rs) if new_rs is not None else 0
        if current >= max_total:
            return new_size
        scale_up = min(max_total - current, replicas - new_size)
        return new_size + max(scale_up, 0)

    def active_old(self) -> list[dict[str, Any]]:
        return [rs for rs in self.old if du.replicas_of(rs) > 0]

    # -- rolling update ----------------------------------------------------------------------

    def reconcile_new(self) -> bool:
        rs = self.new
        if rs is None:
            return False
        replicas = du.replicas_of(self.d)
        if du.replicas_of(rs) == replicas:
            return False
        if du.replicas_of(rs) > replicas:
            return self.scale_and_record(rs, replicas)
        return self.scale_and_record(rs, self.new_rs_replicas(rs))

    def reconcile_old(self) -> bool:
        old_pods = du.sum_spec(self.old)
        if old_pods == 0:
            return False
        all_pods = du.sum_spec(self.rses)
        min_available = du.replicas_of(self.d) - du.max_unavailable(self.d)
        new_unavailable = 0
        if self.new is not None:
            new_unavailable = du.replicas_of(self.new) - du.status_int(self.new, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = self.cleanup_unhealthy(max_scaled_down)
        scaled = self.scale_down_old_rolling()
        return cleaned + scaled > 0

    def cleanup_unhealthy(self, max_cleanup: int) -> int:
        total = 0
        for rs in sorted(self.active_old(), key=du.created_key):
            if total >= max_cleanup:
                break
            size = du.replicas_of(rs)
            available = du.status_int(rs, "availableReplicas")
            if size == 0 or size == available:
                continue
            count = min(max_cleanup - total, size - available)
            self.scale_and_record(rs, size - count)
            total += count
        return total

    def scale_down_old_rolling(self) -> int:
        min_available = du.replicas_of(self.d) - du.max_unavailable(self.d)
        available = du.sum_status(self.rses, "availableReplicas")
        if available <= min_available:
            return 0
        to_scale = available - min_available
        total = 0
        for rs in sorted(self.active_old(), key=du.created_key):
            if total >= to_scale:
                break
            size = du.replicas_of(rs)
            if size == 0:
                continue
            count = min(size, to_scale - total)
            self.scale_and_record(rs, size - count)
            total += count
        return total

    # -- scaling events and pauses -----------------------------------------------------------

    def is_scaling_event(self) -> bool:
        replicas = du.replicas_of(self.d)
        for rs in self.rses:
            if du.replicas_of(rs) <= 0:
                continue
            desired = du.annotation_int(rs, du.DESIRED_REPLICAS)
            if desired is not None and desired != replicas:
                return True
        return False

    def is_saturated(self, rs: dict[str, Any] | None) -> bool:
        if rs is None:
            return False
        replicas = du.replicas_of(self.d)
        return (
            du.annotation_int(rs, du.DESIRED_REPLICAS) == replicas
            and du.status_int(rs, "availableReplicas") == replicas
        )

    def active_or_latest(self) -> dict[str, Any] | None:
        if self.new is None and not self.old:
            return None
        old = sorted(self.old, key=du.created_key, reverse=True)
        active = [rs for rs in [*old, self.new] if rs is not None and du.replicas_of(rs) > 0]
        if not active:
            return self.new if self.new is not None else old[0]
        return active[0] if len(active) == 1 else None

    def proportional_scale(self) -> None:
        """``scale``: resize the one active RS, or spread a resize across several (rolling)."""
        target = self.active_or_latest()
        replicas = du.replicas_of(self.d)
        if target is not None:
            if du.replicas_of(target) != replicas:
                self.scale(target, replicas)
            return
        if self.is_saturated(self.new):
            for rs in self.active_old():
                self.scale(rs, 0)
            return
        if not du.is_rolling(self.d):
            return
        active = [rs for rs in [*self.old, self.new] if rs is not None and du.replicas_of(rs) > 0]
        total = du.sum_spec(active)
        allowed = replicas + du.max_surge(self.d) if replicas > 0 else 0
        to_add = allowed - total
        if to_add > 0:  # bigger first; newer first among equals
            active.sort(key=lambda rs: (-du.replicas_of(rs), -du.created_key(rs)[0]))
            op = "up"
        elif to_add < 0:  # bigger first; older first among equals
            active.sort(key=lambda rs: (-du.replicas_of(rs), du.created_key(rs)[0]))
            op = "down"
        else:
            op = "up"
        sizes: dict[str, int] = {}
        added = 0
        for rs in active:
            if to_add != 0:
                proportion = self.proportion(rs, to_add, added)
                sizes[name_of(rs)] = du.replicas_of(rs) + proportion
                added += proportion
            else:
                sizes[name_of(rs)] = du.replicas_of(rs)
        for i, rs in enumerate(active):
            if i == 0 and to_add != 0:
                sizes[name_of(rs)] = max(sizes[name_of(rs)] + to_add - added, 0)
            self.scale(rs, sizes[name_of(rs)], op)

    def proportion(self, rs: dict[str, Any], to_add: int, added: int) -> int:
        size = du.replicas_of(rs)
        if size == 0 or to_add == 0 or to_add == added:
            return 0
        replicas = du.replicas_of(self.d)
        if replicas == 0:
            fraction = -size
        else:
            deploy_replicas = replicas + du.max_surge(self.d)
            annotated = du.annotation_int(rs, du.MAX_REPLICAS)
            if not annotated:
                annotated = du.status_int(self.d, "replicas") or max(du.sum_spec(self.rses), 1)
            fraction = math.floor(size * deploy_replicas / annotated + 0.5) - size
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    def check_paused_conditions(self) -> None:
        if not du.progress_deadline(self.d):
            return
        cond = dc.get_condition(self.status, dc.PROGRESSING)
        if cond is not None and cond.get("reason") == dc.TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == dc.PAUSED
        if du.spec(self.d).get("paused") and not paused_cond:
            cond = dc.new_condition(dc.PROGRESSING, "Unknown", dc.PAUSED, "Deployment is paused", self.now)
            dc.set_condition(self.status, cond)
        elif not du.spec(self.d).get("paused") and paused_cond:
            cond = dc.new_condition(dc.PROGRESSING, "Unknown", dc.RESUMED, "Deployment is resumed", self.now)
            dc.set_condition(self.status, cond)

    # -- cleanup -----------------------------------------------------------------------------

    def cleanup(self) -> None:
        limit = du.history_limit(self.d)
        if limit is None:
            return
        cleanable = [rs for rs in self.old if not meta(rs).get("deletionTimestamp")]
        diff = len(cleanable) - limit
        if diff <= 0:
            return
        cleanable.sort(key=lambda rs: (du.revision_of(rs), du.created_key(rs)))
        for rs in cleanable[:diff]:
            if du.status_int(rs, "replicas") != 0 or du.replicas_of(rs) != 0:
                continue
            if int(meta(rs).get("generation") or 0) > du.status_int(rs, "observedGeneration"):
                continue
            self.out.delete.append(name_of(rs))

    # -- status ------------------------------------------------------------------------------

    def calculate_status(self) -> dict[str, Any]:
        available = du.sum_status(self.rses, "availableReplicas")
        unavailable = max(du.sum_spec(self.rses) - available, 0)
        status = copy.deepcopy(self.status)
        status.update(
            {
                "observedGeneration": int(meta(self.d).get("generation") or 0),
                "replicas": du.sum_status(self.rses, "replicas"),
                "updatedReplicas": du.status_int(self.new, "replicas") if self.new is not None else 0,
                "readyReplicas": du.sum_status(self.rses, "readyReplicas"),
                "availableReplicas": available,
                "unavailableReplicas": unavailable,
            }
        )
        if available >= du.replicas_of(self.d) - du.max_unavailable(self.d):
            cond = dc.new_condition(
                dc.AVAILABLE, "True", dc.MIN_AVAILABLE, "Deployment has minimum availability.", self.now
            )
        else:
            cond = dc.new_condition(
                dc.AVAILABLE,
                "False",
                dc.MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.",
                self.now,
            )
        dc.set_condition(status, cond)
        return status

    def finish_status_only(self) -> None:
        self.commit_status(self.calculate_status())

    def finish_rollout(self) -> None:
        """``syncRolloutStatus``."""
        new_status = self.calculate_status()
        deadline = du.progress_deadline(self.d)
        if not deadline:
            dc.remove_condition(new_status, dc.PROGRESSING)
        current = dc.get_condition(self.status, dc.PROGRESSING)
        complete_before = (
            new_status["replicas"] == new_status["updatedReplicas"]
            and current is not None
            and current.get("reason") == dc.NEW_RS_AVAILABLE
        )
        new_name = name_of(self.new) if self.new is not None else None
        if deadline and not complete_before:
            if deployment_complete(self.d, new_status):
                msg = f'ReplicaSet "{new_name}" has successfully progressed.'
                cond = dc.new_condition(dc.PROGRESSING, "True", dc.NEW_RS_AVAILABLE, msg, self.now)
                dc.set_condition(new_status, cond)
            elif deployment_progressing(self.status, new_status):
                msg = (
                    f'ReplicaSet "{new_name}" is progressing.'
                    if new_name
                    else (f'Deployment "{name_of(self.d)}" is progressing.')
                )
                cond = dc.new_condition(dc.PROGRESSING, "True", dc.RS_UPDATED, msg, self.now)
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    dc.remove_condition(new_status, dc.PROGRESSING)
                dc.set_condition(new_status, cond)
            elif timed_out(self.d, new_status, self.now):
                msg = f'ReplicaSet "{new_name}" has timed out progressing.'
                cond = dc.new_condition(dc.PROGRESSING, "False", dc.TIMED_OUT, msg, self.now)
                dc.set_condition(new_status, cond)
        self.commit_status(new_status)
        self.out.requeue_after = stuck_requeue(self.d, new_status, self.now)

    def commit_status(self, new_status: dict[str, Any]) -> None:
        if new_status != (self.d.get("status") or {}):
            self.out.status = new_status


def plan(
    deploy: dict[str, Any],
    rses: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    now: datetime,
) -> DeploymentPlan:
    """One sync of a Deployment. ``rses`` and ``pods``: those of its namespace. See the module doc."""
    matcher = selector_matcher(du.selector_of(deploy))
    claimed = claim(deploy, rses, lambda rs: matcher(labels_of(rs)))
    st = _Sync(deploy, claimed.owned, now)
    st.out.adopt = [name_of(rs) for rs in claimed.adopt]
    st.out.release = [name_of(rs) for rs in claimed.release]

    if meta(deploy).get("deletionTimestamp"):
        st.finish_status_only()
        return st.out

    st.check_paused_conditions()
    paused = bool(du.spec(deploy).get("paused"))
    if paused or st.is_scaling_event():
        st.sync_revision(create=False)
        st.proportional_scale()
        if paused:
            st.cleanup()
        st.finish_status_only()
        return st.out

    if du.is_rolling(deploy):
        st.sync_revision(create=True)
        if st.reconcile_new() or st.reconcile_old():
            st.finish_rollout()
            return st.out
    else:
        st.sync_revision(create=False)
        scaled = [st.scale_and_record(rs, 0) for rs in st.active_old()]
        if any(scaled):
            st.finish_rollout()
            return st.out
        if old_pods_running(st.new, st.old, pods):
            st.finish_rollout()
            return st.out
        if st.new is None:
            st.sync_revision(create=True)
        elif du.replicas_of(st.new) != du.replicas_of(deploy):
            st.scale_and_record(st.new, du.replicas_of(deploy))
    if deployment_complete(deploy, deploy.get("status") or {}):
        st.cleanup()
    st.finish_rollout()
    return st.out
