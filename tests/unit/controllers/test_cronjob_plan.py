"""Table tests of the CronJob plan, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.cronjob.plan import SCHEDULED_TIMESTAMP, Event, job_name, next_actions
from schemas.status import format_time

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)  # the CronJob's creation
OWNER = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "name": "hello",
    "uid": "uid-cj",
    "controller": True,
    "blockOwnerDeletion": True,
}


def cj(schedule: str = "*/1 * * * *", status: dict | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": "hello",
            "namespace": "default",
            "uid": "uid-cj",
            "creationTimestamp": format_time(T0),
        },
        "spec": {
            "schedule": schedule,
            "jobTemplate": {
                "metadata": {"labels": {"app": "hello"}},
                "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c"}]}}},
            },
            **spec,
        },
        "status": status or {},
    }


def job(
    name: str, *, finished: str | None = None, started: datetime = T0, completed: datetime | None = None
) -> dict:
    status: dict[str, Any] = {"startTime": format_time(started)}
    if finished:
        status["conditions"] = [
            {"type": finished, "status": "True", "lastTransitionTime": format_time(started)}
        ]
        if finished == "Complete":
            status["completionTime"] = format_time(completed or started + timedelta(seconds=5))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "ownerReferences": [OWNER]},
        "status": status,
    }


def active_ref(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": name,
        "namespace": "default",
        "uid": f"uid-{name}",
    }


def test_nothing_before_the_first_scheduled_time() -> None:
    out = next_actions(cj(), [], T0 + timedelta(seconds=30))
    assert out.create is None and out.status is None
    assert out.requeue_after == pytest.approx(30.1)


def test_creates_the_job_for_the_scheduled_minute() -> None:
    now = T0 + timedelta(seconds=61)
    out = next_actions(cj(), [], now)
    scheduled = T0 + timedelta(minutes=1)
    name = f"hello-{int(scheduled.timestamp()) // 60}"
    assert job_name(cj(), scheduled) == name
    assert out.create == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"app": "hello"},
            "annotations": {SCHEDULED_TIMESTAMP: "2024-05-01T12:01:00Z"},
            "ownerReferences": [OWNER],
        },
        "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c"}]}}},
    }
    assert out.events == [Event("Normal", "SuccessfulCreate", f"Created job {name}")]
    assert out.status == {
        "lastScheduleTime": "2024-05-01T12:01:00Z",
        "active": [{"apiVersion": "batch/v1", "kind": "Job", "name": name, "namespace": "default"}],
    }
    assert out.requeue_after == pytest.approx(59.1)


def test_same_scheduled_time_is_not_run_twice() -> None:
    status = {"lastScheduleTime": "2024-05-01T12:01:00Z"}
    assert next_actions(cj(status=status), [], T0 + timedelta(seconds=90)).create is None


@pytest.mark.parametrize(
    ("policy", "creates", "deletes"),
    [("Allow", True, []), ("Forbid", False, []), ("Replace", True, ["hello-a"])],
)
def test_concurrency_policy(policy: str, creates: bool, deletes: list) -> None:
    status = {"lastScheduleTime": "2024-05-01T12:01:00Z", "active": [active_ref("hello-a")]}
    out = next_actions(
        cj(status=status, concurrencyPolicy=policy), [job("hello-a")], T0 + timedelta(seconds=121)
    )
    assert (out.create is not None) == creates
    assert out.delete == deletes
    if policy == "Forbid":
        assert out.events[0].reason == "JobAlreadyActive"


def test_suspend_creates_nothing() -> None:
    assert next_actions(cj(suspend=True), [], T0 + timedelta(minutes=5)).create is None


def test_finished_job_leaves_active_and_sets_last_successful_time() -> None:
    status = {"lastScheduleTime": "2024-05-01T12:01:00Z", "active": [active_ref("hello-a")]}
    done = job("hello-a", finished="Complete", completed=T0 + timedelta(seconds=70))
    out = next_actions(cj(status=status), [done], T0 + timedelta(seconds=75))
    assert out.events == [
        Event("Normal", "SawCompletedJob", "Saw completed job: hello-a, condition: Complete")
    ]
    assert out.status == {
        "lastScheduleTime": "2024-05-01T12:01:00Z",
        "lastSuccessfulTime": "2024-05-01T12:01:10Z",
    }


def test_missing_job_leaves_active() -> None:
    status = {"lastScheduleTime": "2024-05-01T12:01:00Z", "active": [active_ref("gone")]}
    out = next_actions(cj(status=status), [], T0 + timedelta(seconds=75))
    assert out.events == [Event("Normal", "MissingJob", "Active job went missing: gone")]
    assert "active" not in out.status


def test_history_limits_delete_oldest_finished_jobs() -> None:
    jobs = [job(f"ok-{i}", finished="Complete", started=T0 + timedelta(minutes=i)) for i in range(5)]
    jobs += [job(f"bad-{i}", finished="Failed", started=T0 + timedelta(minutes=i)) for i in range(3)]
    out = next_actions(cj(successfulJobsHistoryLimit=2, suspend=True), jobs, T0 + timedelta(minutes=10))
    assert out.delete == ["ok-0", "ok-1", "ok-2", "bad-0", "bad-1"]  # failed limit defaults to 1


def test_too_many_missed_runs_warns_and_runs_only_the_latest() -> None:
    now = T0 + timedelta(minutes=500, seconds=5)
    out = next_actions(cj(), [], now)
    assert out.events[0].reason == "TooManyMissedTimes"
    assert out.create["metadata"]["annotations"][SCHEDULED_TIMESTAMP] == format_time(
        T0 + timedelta(minutes=500)
    )


def test_starting_deadline_limits_how_far_back_we_look() -> None:
    # missed the 12:00 run of an hourly job by 10 min, deadline 5 min: skipped, nothing runs
    created = cj("@hourly", startingDeadlineSeconds=300)
    created["metadata"]["creationTimestamp"] = format_time(T0 - timedelta(minutes=30))
    out = next_actions(created, [], T0 + timedelta(minutes=10))
    assert out.create is None
    out = next_actions(created, [], T0 + timedelta(minutes=4))
    assert out.create is not None


def test_time_zone_and_bad_schedule() -> None:
    out = next_actions(cj("0 9 * * *", timeZone="Asia/Tokyo"), [], datetime(2024, 5, 2, 0, 0, 30, tzinfo=UTC))
    assert out.create["metadata"]["annotations"][SCHEDULED_TIMESTAMP] == "2024-05-02T09:00:00+09:00"
    assert next_actions(cj("bogus"), [], T0).events[0].reason == "UnparseableSchedule"
    assert next_actions(cj(timeZone="Mars/Olympus"), [], T0).events[0].reason == "UnknownTimeZone"
