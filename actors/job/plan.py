"""Pure decisions of the Job controller, after Kubernetes' ``pkg/controller/job``.

``plan(job, pods, now)``: the Job, the pods of its namespace, the time.

- pods are claimed by the selector; a Job without ``spec.selector`` (the api may not default it)
  selects ``batch.kubernetes.io/controller-uid=<uid>``, which every pod the controller creates
  carries, with ``controller-uid``, ``job-name`` and ``batch.kubernetes.io/job-name``;
- counts: ``succeeded`` and ``failed`` are the Succeeded / Failed pods, never lower than the
  status already written (pods deleted later, e.g. by the pod GC, stay counted: jetkube has no
  job-tracking finalizers); Indexed Jobs count distinct completed indexes (``completedIndexes``);
- failure: more failed pods than ``backoffLimit`` (default 6) -> ``BackoffLimitExceeded``. With
  ``restartPolicy: OnFailure`` a pod never fails, the kubelet restarts its containers; as the
  Kubernetes controller did before pod-failure tracking, the container restarts of the running and
  pending pods count instead: restarts >= backoffLimit (> 0 when the limit is 0) fails the Job.
  ``activeDeadlineSeconds`` past ``startTime`` -> ``DeadlineExceeded``. A failed Job's active pods
  are deleted and counted as failed;
- otherwise the active pods are brought to ``min(parallelism, completions - succeeded)`` (all that
  run, once one succeeded, for a Job without completions): surplus deleted in the ReplicaSet's
  order, missing ones created; Indexed Jobs create the lowest indexes that are neither completed nor
  running, with the index as annotation, label, env ``JOB_COMPLETION_INDEX`` and hostname
  ``<job>-<index>``. After pod failures new pods wait ``10 s * 2^(failures-1)`` (at most 6 min)
  from the last failure, as Kubernetes' pod backoff;
- ``suspend`` deletes the active pods and sets Suspended=True; resuming resets ``startTime``;
- done when ``succeeded >= completions`` (or a success and nothing running, without completions):
  condition Complete, ``completionTime``; a finished Job with ``ttlSecondsAfterFinished`` is
  deleted (background propagation) that long after it finished.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from actors.job import indexes as ix
from actors.workload.events import Event
from actors.workload.ownership import claim
from actors.workload.podutil import (
    is_active,
    is_ready,
    meta,
    name_of,
    owner_reference,
    phase,
    pod_from_template,
    pods_to_delete,
    restart_count,
)
from actors.workload.selector import labels_of, selector_matcher
from schemas.status import format_time, parse_time

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"

DEFAULT_BACKOFF_LIMIT = 6
POD_BACKOFF_BASE = 10.0
POD_BACKOFF_MAX = 360.0


@dataclass
class JobPlan:
    create: list[dict[str, Any]] = field(default_factory=list)  # pods, named at creation
    delete: list[str] = field(default_factory=list)  # pod names
    status: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    delete_job: bool = False  # ttlSecondsAfterFinished has passed
    requeue_after: float | None = None


def job_labels(job: dict[str, Any]) -> dict[str, str]:
    uid = str(meta(job).get("uid") or "")
    name = name_of(job)
    return {CONTROLLER_UID: uid, JOB_NAME: name, LEGACY_CONTROLLER_UID: uid, LEGACY_JOB_NAME: name}


def selector_of(job: dict[str, Any]) -> dict[str, Any]:
    selector = (job.get("spec") or {}).get("selector")
    if selector and (selector.get("matchLabels") or selector.get("matchExpressions")):
        return selector
    return {"matchLabels": {CONTROLLER_UID: str(meta(job).get("uid") or "")}}


def get_condition(status: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def finished(job: dict[str, Any]) -> tuple[str, datetime | None] | None:
    """``("Complete"|"Failed", when)`` for a finished Job, else None."""
    status = job.get("status") or {}
    for ctype in ("Complete", "Failed"):
        cond = get_condition(status, ctype)
        if cond is not None and cond.get("status") == "True":
            when = parse_time(status.get("completionTime")) if ctype == "Complete" else None
            return ctype, when or parse_time(cond.get("lastTransitionTime"))
    return None


def _set_condition(
    status: dict[str, Any], ctype: str, value: str, reason: str, message: str, now: datetime
) -> bool:
    """Set a Job condition; True when it changed (``ensureJobConditionStatus``)."""
    current = get_condition(status, ctype)
    stamp = format_time(now)
    if current is None:
        if value == "False":
            return False
        status["conditions"] = [
            *(status.get("conditions") or []),
            {
                "type": ctype,
                "status": value,
                "lastProbeTime": stamp,
                "lastTransitionTime": stamp,
                "reason": reason,
                "message": message,
            },
        ]
        return True
    if current.get("status") == value and current.get("reason") == reason:
        return False
    updated = {**current, "status": value, "reason": reason, "message": message, "lastProbeTime": stamp}
    if current.get("status") != value:
        updated["lastTransitionTime"] = stamp
    status["conditions"] = [updated if c is current else c for c in status.get("conditions") or []]
    return True


def _failure_time(pod: dict[str, Any]) -> datetime | None:
    status = pod.get("status") or {}
    times = []
    for cs in status.get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated") or {}
        if (t := parse_time(term.get("finishedAt"))) is not None:
            times.append(t)
    for cond in status.get("conditions") or []:
        if (t := parse_time(cond.get("lastTransitionTime"))) is not None:
            times.append(t)
    return max(times) if times else parse_time(meta(pod).get("creationTimestamp"))


def _backoff_wait(failed_pods: list[dict[str, Any]], now: datetime, base: float) -> float:
    """Seconds before the next pod may be created after failures; 0 when it may be created now."""
    if not failed_pods or base <= 0:
        return 0.0
    last = max((t for p in failed_pods if (t := _failure_time(p)) is not None), default=None)
    if last is None:
        return 0.0
    delay = min(base * 2 ** (len(failed_pods) - 1), POD_BACKOFF_MAX)
    return max((last + timedelta(seconds=delay) - now).total_seconds(), 0.0)


def _new_pod(job: dict[str, Any], index: int | None) -> dict[str, Any]:
    template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
    labels = job_labels(job)
    annotations: dict[str, str] = {}
    prefix = f"{name_of(job)}-"
    if index is not None:
        labels[ix.INDEX_LABEL] = str(index)
        annotations[ix.INDEX_ANNOTATION] = str(index)
        prefix = f"{name_of(job)}-{index}-"
        tspec = template.setdefault("spec", {})
        tspec.setdefault("hostname", f"{name_of(job)}-{index}")
        for key in ("initContainers", "containers"):
            for container in tspec.get(key) or []:
                env = [e for e in container.get("env") or [] if e.get("name") != ix.INDEX_ENV]
                container["env"] = [*env, {"name": ix.INDEX_ENV, "value": str(index)}]
    return pod_from_template(
        template,
        namespace=str(meta(job).get("namespace") or "default"),
        generate_prefix=prefix,
        owner_ref=owner_reference(job, "batch/v1", "Job"),
        extra_labels=labels,
        extra_annotations=annotations,
    )


def _ttl(job: dict[str, Any], when: datetime | None, now: datetime, out: JobPlan) -> None:
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or when is None:
        return
    left = (when + timedelta(seconds=int(ttl)) - now).total_seconds()
    if left <= 0:
        out.delete_job = True
    else:
        out.requeue_after = left


def plan(
    job: dict[str, Any],
    pods: list[dict[str, Any]],
    now: datetime,
    *,
    needs_sync: bool = True,
    backoff_base: float = POD_BACKOFF_BASE,
) -> JobPlan:
    out = JobPlan()
    done = finished(job)
    if done is not None:
        _ttl(job, done[1], now, out)
        return out

    spec = job.get("spec") or {}
    old_status = job.get("status") or {}
    status = copy.deepcopy(old_status)
    matcher = selector_matcher(selector_of(job))
    owned = claim(job, pods, lambda p: matcher(labels_of(p))).owned
    active = [p for p in owned if is_active(p)]
    failed_pods = [p for p in owned if phase(p) == "Failed"]
    indexed = spec.get("completionMode") == "Indexed"
    completions = spec.get("completions")
    completions = None if completions is None else int(completions)
    backoff_limit = int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT) or 0)
    suspended = bool(spec.get("suspend"))

    completed: set[int] = set()
    if indexed and completions is not None:
        completed = ix.parse_indexes(old_status.get("completedIndexes"), completions)
        for pod in owned:
            if phase(pod) == "Succeeded" and (i := ix.pod_index(pod, completions)) is not None:
                completed.add(i)
        succeeded = len(completed)
    else:
        succeeded = max(
            int(old_status.get("succeeded") or 0), sum(1 for p in owned if phase(p) == "Succeeded")
        )
    failed = max(int(old_status.get("failed") or 0), len(failed_pods))

    if status.get("startTime") is None and not suspended:
        status["startTime"] = format_time(now)
    if suspended:
        if _set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", now):
            out.events.append(Event("Normal", "Suspended", "Job suspended"))
    elif _set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now):
        out.events.append(Event("Normal", "Resumed", "Job resumed"))
        status["startTime"] = format_time(now)

    failure: tuple[str, str] | None = None
    if failed > backoff_limit or _past_backoff_on_failure(spec, active, backoff_limit):
        failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    elif not suspended and (left := _deadline_left(spec, status, now)) is not None:
        if left <= 0:
            failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
        else:
            out.requeue_after = left

    created = 0
    if failure is not None:
        out.delete = [name_of(p) for p in active]
        failed += len(active)
        active_count = 0
        _set_condition(status, "Failed", "True", failure[0], failure[1], now)
        out.events.append(Event("Warning", failure[0], failure[1]))
    else:
        if suspended:
            out.delete = [name_of(p) for p in active]
        elif needs_sync and not meta(job).get("deletionTimestamp"):
            created = _manage(job, active, failed_pods, succeeded, completed, now, backoff_base, out)
        active_count = len(active) - len(out.delete) + created
        complete = succeeded > 0 and active_count == 0 if completions is None else succeeded >= completions
        if complete and not suspended:
            _set_condition(status, "Complete", "True", "", "", now)
            status["completionTime"] = format_time(now)
            out.events.append(Event("Normal", "Completed", "Job completed"))
            out.requeue_after = None
            _ttl(job, now, now, out)

    status["active"] = active_count
    status["ready"] = sum(1 for p in active if is_ready(p) and name_of(p) not in out.delete)
    status["succeeded"] = succeeded
    status["failed"] = failed
    if indexed:
        status["completedIndexes"] = ix.format_indexes(completed)
    if status != old_status:
        out.status = status
    return out


def _past_backoff_on_failure(spec: dict[str, Any], active: list[dict[str, Any]], limit: int) -> bool:
    tspec = (spec.get("template") or {}).get("spec") or {}
    if tspec.get("restartPolicy") != "OnFailure":
        return False
    restarts = sum(restart_count(p) for p in active if phase(p) in ("Running", "Pending"))
    return restarts > 0 if limit == 0 else restarts >= limit


def _deadline_left(spec: dict[str, Any], status: dict[str, Any], now: datetime) -> float | None:
    deadline = spec.get("activeDeadlineSeconds")
    start = parse_time(status.get("startTime"))
    if deadline is None or start is None:
        return None
    return (start + timedelta(seconds=int(deadline)) - now).total_seconds()


def _manage(
    job: dict[str, Any],
    active: list[dict[str, Any]],
    failed_pods: list[dict[str, Any]],
    succeeded: int,
    completed: set[int],
    now: datetime,
    backoff_base: float,
    out: JobPlan,
) -> int:
    """``manageJob``: delete surplus pods, create missing ones; returns how many were created."""
    spec = job.get("spec") or {}
    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism") if spec.get("parallelism") is not None else 1)
    indexed = spec.get("completionMode") == "Indexed" and completions is not None
    remaining = list(active)
    if indexed:  # pods with a bad, duplicate or already completed index go first
        seen: set[int] = set()
        keep = []
        for pod in sorted(active, key=lambda p: (ix.pod_index(p, int(completions)) is None, name_of(p))):
            i = ix.pod_index(pod, int(completions))
            if i is None or i in seen or i in completed:
                out.delete.append(name_of(pod))
            else:
                seen.add(i)
                keep.append(pod)
        remaining = keep
    if completions is None:
        want = len(remaining) if succeeded > 0 else parallelism
    else:
        want = max(min(int(completions) - succeeded, parallelism), 0)
    surplus = len(remaining) - want
    if surplus > 0:
        out.delete.extend(name_of(p) for p in pods_to_delete(remaining, surplus))
        return 0
    missing = want - len(remaining)
    if missing <= 0:
        return 0
    wait = _backoff_wait(failed_pods, now, backoff_base)
    if wait > 0:
        out.requeue_after = wait if out.requeue_after is None else min(out.requeue_after, wait)
        return 0
    if indexed:
        running = {ix.pod_index(p, int(completions)) for p in remaining}
        free = [i for i in range(int(completions)) if i not in completed and i not in running]
        out.create = [_new_pod(job, i) for i in free[:missing]]
    else:
        out.create = [_new_pod(job, None) for _ in range(missing)]
    return len(out.create)
