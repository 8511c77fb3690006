"""Pure decisions of the CronJob controller, after Kubernetes' ``cronjob_controllerv2``.

``next_actions(cronjob, jobs, now)``: the CronJob, the Jobs it controls, the time (a fake clock in
tests). In order:

- status.active follows the Jobs: a finished Job leaves it (event SawCompletedJob), a listed Job
  that no longer exists leaves it (MissingJob), a running Job the list lacks joins it
  (UnexpectedJob; Kubernetes only reports it, jetkube also counts it so Forbid stays honest);
  ``lastSuccessfulTime`` is the latest completion; finished Jobs beyond
  successfulJobsHistoryLimit (3) / failedJobsHistoryLimit (1) are deleted, oldest first;
- nothing more for a CronJob being deleted, suspended, or with a bad schedule / time zone;
- the most recent unmet scheduled time after ``lastScheduleTime`` (else the creation time), no
  earlier than ``now - startingDeadlineSeconds``. More than 100 missed times give the warning
  TooManyMissedTimes and, as Kubernetes since 1.21, only the most recent one runs (the others are
  skipped). A time past its starting deadline is skipped (MissedSchedule);
- concurrencyPolicy: Forbid waits while a Job runs (JobAlreadyActive), Replace deletes the running
  Jobs first, Allow runs them side by side;
- the Job is ``<cronjob>-<scheduled time in minutes since the epoch>``, owned by the CronJob, with
  the ``batch.kubernetes.io/cronjob-scheduled-timestamp`` annotation; ``lastScheduleTime`` moves to
  the scheduled time; ``requeue_after`` is the time to the next scheduled time.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.cronjob.schedule import MAX_MISSED, Schedule, zone
from actors.job.plan import finished
from actors.workload.events import Event
from actors.workload.ownership import is_controlled_by
from actors.workload.podutil import meta, name_of, owner_reference
from schemas.errors import BadRequest
from schemas.status import format_time, parse_time

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
DEFAULT_SUCCESSFUL_HISTORY = 3
DEFAULT_FAILED_HISTORY = 1


@dataclass
class CronPlan:
    create: dict[str, Any] | None = None  # the Job to create
    delete: list[str] = field(default_factory=list)  # Jobs to delete (background propagation)
    status: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None


def job_name(cronjob: dict[str, Any], scheduled: datetime) -> str:
    return f"{name_of(cronjob)}-{int(scheduled.timestamp()) // 60}"


def job_ref(job: dict[str, Any]) -> dict[str, Any]:
    m = meta(job)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": m.get("name"),
        "namespace": m.get("namespace"),
        "uid": m.get("uid"),
        "resourceVersion": m.get("resourceVersion"),
    }


def job_from_template(cronjob: dict[str, Any], scheduled: datetime, tz: Any = UTC) -> dict[str, Any]:
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP] = scheduled.astimezone(tz).isoformat().replace("+00:00", "Z")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(cronjob, scheduled),
            "namespace": meta(cronjob).get("namespace") or "default",
            "labels": dict(tmeta.get("labels") or {}),
            "annotations": annotations,
            "ownerReferences": [owner_reference(cronjob, "batch/v1", "CronJob")],
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def _start_key(job: dict[str, Any]) -> tuple[float, str]:
    start = parse_time((job.get("status") or {}).get("startTime")) or parse_time(
        meta(job).get("creationTimestamp")
    )
    return (start.timestamp() if start else 0.0, name_of(job))


def next_actions(cronjob: dict[str, Any], jobs: list[dict[str, Any]], now: datetime) -> CronPlan:
    out = CronPlan()
    spec = cronjob.get("spec") or {}
    old_status = cronjob.get("status") or {}
    status = copy.deepcopy(old_status)
    uid = str(meta(cronjob).get("uid") or "")
    own = [j for j in jobs if is_controlled_by(j, uid)]
    by_uid = {meta(j).get("uid"): j for j in own}
    active = [dict(r) for r in status.get("active") or []]
    active_uids = {r.get("uid") for r in active}

    last_success = parse_time(status.get("lastSuccessfulTime"))
    for job in sorted(own, key=_start_key):
        done = finished(job)
        juid = meta(job).get("uid")
        if done is None:
            if juid not in active_uids:
                out.events.append(
                    Event(
                        "Warning",
                        "UnexpectedJob",
                        f"Saw a job that the controller did not create or forgot: {name_of(job)}",
                    )
                )
                active.append(job_ref(job))
                active_uids.add(juid)
            continue
        if juid in active_uids:
            active = [r for r in active if r.get("uid") != juid]
            active_uids.discard(juid)
            out.events.append(
                Event("Normal", "SawCompletedJob", f"Saw completed job: {name_of(job)}, condition: {done[0]}")
            )
        completed_at = parse_time((job.get("status") or {}).get("completionTime"))
        if done[0] == "Complete" and completed_at and (last_success is None or completed_at > last_success):
            last_success = completed_at
    for ref in list(active):
        if ref.get("uid") not in by_uid:
            out.events.append(Event("Normal", "MissingJob", f"Active job went missing: {ref.get('name')}"))
            active = [r for r in active if r.get("uid") != ref.get("uid")]
    if last_success is not None:
        status["lastSuccessfulTime"] = format_time(last_success)

    _cleanup_history(spec, own, out)
    removed = set(out.delete)
    active = [r for r in active if r.get("name") not in removed]

    def finish() -> CronPlan:
        if active:
            status["active"] = active
        else:
            status.pop("active", None)
        if status != old_status:
            out.status = status
        return out

    if meta(cronjob).get("deletionTimestamp"):
        return finish()
    try:
        tz = zone(spec.get("timeZone"))
    except BadRequest:
        out.events.append(Event("Warning", "UnknownTimeZone", f"invalid timeZone: {spec.get('timeZone')!r}"))
        return finish()
    try:
        sched = Schedule(str(spec.get("schedule") or ""), tz)
    except BadRequest:
        out.events.append(
            Event("Warning", "UnparseableSchedule", f"unparseable schedule: {spec.get('schedule')!r}")
        )
        return finish()
    if spec.get("suspend"):
        return finish()

    out.requeue_after = max((sched.next_after(now) - now).total_seconds(), 0.0) + 0.1
    earliest = (
        parse_time(status.get("lastScheduleTime"))
        or parse_time(meta(cronjob).get("creationTimestamp"))
        or now
    )
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    scheduled, missed = sched.unmet(earliest, now)
    if scheduled is None:
        return finish()
    if missed > MAX_MISSED:
        out.events.append(
            Event(
                "Warning",
                "TooManyMissedTimes",
                f"too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds "
                "or check clock skew",
            )
        )
    if deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now:
        out.events.append(
            Event(
                "Warning", "MissedSchedule", f"Missed scheduled time to start a job: {format_time(scheduled)}"
            )
        )
        return finish()
    name = job_name(cronjob, scheduled)
    if any(r.get("name") == name for r in active) or parse_time(status.get("lastScheduleTime")) == scheduled:
        return finish()
    if any(name_of(j) == name for j in own):  # already made (status write lost): just record it
        status["lastScheduleTime"] = format_time(scheduled)
        return finish()
    policy = spec.get("concurrencyPolicy") or "Allow"
    if policy == "Forbid" and active:
        out.events.append(
            Event(
                "Normal",
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            )
        )
        return finish()
    if policy == "Replace":
        for ref in active:
            out.delete.append(str(ref.get("name")))
            out.events.append(Event("Normal", "SuccessfulDelete", f"Deleted job {ref.get('name')}"))
        active = []
    out.create = job_from_template(cronjob, scheduled, tz)
    out.events.append(Event("Normal", "SuccessfulCreate", f"Created job {name}"))
    status["lastScheduleTime"] = format_time(scheduled)
    active.append(
        {"apiVersion": "batch/v1", "kind": "Job", "name": name, "namespace": meta(cronjob).get("namespace")}
    )
    return finish()


def _cleanup_history(spec: dict[str, Any], own: list[dict[str, Any]], out: CronPlan) -> None:
    limits = {
        "Complete": spec.get("successfulJobsHistoryLimit", DEFAULT_SUCCESSFUL_HISTORY),
        "Failed": spec.get("failedJobsHistoryLimit", DEFAULT_FAILED_HISTORY),
    }
    for kind, limit in limits.items():
        if limit is None:
            continue
        done = sorted(
            (
                j
                for j in own
                if (f := finished(j)) is not None and f[0] == kind and not meta(j).get("deletionTimestamp")
            ),
            key=_start_key,
        )
        for job in done[: max(len(done) - int(limit), 0)]:
            out.delete.append(name_of(job))
            out.events.append(Event("Normal", "SuccessfulDelete", f"Deleted job {name_of(job)}"))
