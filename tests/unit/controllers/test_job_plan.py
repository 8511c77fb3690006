"""Table tests of the Job plan."""

from __future__ import annotations

from typing import Any

import pytest

from actors.job.indexes import INDEX_ANNOTATION, format_indexes, parse_indexes
from actors.job.plan import CONTROLLER_UID, Event, plan
from tests.unit.controllers.factories import NOW, ago, pod, ref

OWNER = ref("Job", "pi", "uid-pi", "batch/v1")


def job(**spec: Any) -> dict[str, Any]:
    status = spec.pop("status", {})
    restart = spec.pop("restart", "Never")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default", "uid": "uid-pi", "creationTimestamp": ago(100)},
        "spec": {
            "template": {
                "metadata": {},
                "spec": {"restartPolicy": restart, "containers": [{"name": "pi", "image": "perl"}]},
            },
            **spec,
        },
        "status": status,
    }


def jpod(name: str, phase: str = "Running", index: int | None = None, **kw: Any) -> dict[str, Any]:
    ann = {INDEX_ANNOTATION: str(index)} if index is not None else None
    return pod(name, labels={CONTROLLER_UID: "uid-pi"}, owner=OWNER, phase=phase, annotations=ann, **kw)


def test_first_sync_creates_parallelism_pods_with_the_job_labels() -> None:
    out = plan(job(completions=5, parallelism=2), [], NOW)
    assert len(out.create) == 2
    p = out.create[0]
    assert p["metadata"]["generateName"] == "pi-"
    assert p["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": "uid-pi",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "uid-pi",
        "job-name": "pi",
    }
    assert p["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert out.status == {
        "startTime": "2024-05-01T12:00:00Z",
        "active": 2,
        "ready": 0,
        "succeeded": 0,
        "failed": 0,
    }


@pytest.mark.parametrize(
    ("spec", "pods", "creates", "deletes"),
    [
        ({"completions": 5, "parallelism": 2}, ["Succeeded"] * 4 + ["Running"], 0, 0),  # 1 left, 1 running
        ({"completions": 5, "parallelism": 3}, ["Succeeded"] * 3 + ["Running"], 1, 0),
        ({"completions": 2, "parallelism": 3}, ["Running"] * 3, 0, 1),  # never more than remaining
        ({"parallelism": 2}, ["Succeeded", "Running"], 0, 0),  # work queue: no more once one succeeded
        ({"parallelism": 3}, [], 3, 0),
    ],
)
def test_active_pods_follow_parallelism_and_remaining_completions(
    spec: dict, pods: list, creates: int, deletes: int
) -> None:
    out = plan(job(**spec), [jpod(f"p{i}", ph) for i, ph in enumerate(pods)], NOW)
    assert (len(out.create), len(out.delete)) == (creates, deletes)


def test_complete_when_completions_reached() -> None:
    out = plan(job(completions=2), [jpod("a", "Succeeded"), jpod("b", "Succeeded")], NOW)
    assert out.create == [] and out.delete == []
    cond = out.status["conditions"][0]
    assert (cond["type"], cond["status"]) == ("Complete", "True")
    assert out.status["completionTime"] == "2024-05-01T12:00:00Z"
    assert out.status["succeeded"] == 2
    assert out.events == [Event("Normal", "Completed", "Job completed")]


def test_backoff_limit_exceeded_fails_and_deletes_active_pods() -> None:
    pods = [jpod("f1", "Failed"), jpod("f2", "Failed"), jpod("f3", "Failed"), jpod("run")]
    out = plan(job(completions=3, backoffLimit=2), pods, NOW)
    assert out.delete == ["run"]
    assert out.status["failed"] == 4 and out.status["active"] == 0
    cond = out.status["conditions"][0]
    assert (cond["type"], cond["reason"]) == ("Failed", "BackoffLimitExceeded")
    assert out.events == [
        Event("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    ]


def test_on_failure_counts_container_restarts() -> None:
    out = plan(job(backoffLimit=3, restart="OnFailure"), [jpod("a", restarts=3)], NOW)
    assert out.status["conditions"][0]["reason"] == "BackoffLimitExceeded"
    out = plan(job(backoffLimit=3, restart="OnFailure"), [jpod("a", restarts=2)], NOW)
    assert "conditions" not in out.status


def test_failed_pods_are_replaced_after_the_pod_backoff() -> None:
    failed = jpod("f1", "Failed")
    failed["status"]["containerStatuses"][0]["state"] = {"terminated": {"finishedAt": ago(4), "exitCode": 1}}
    out = plan(job(completions=1, backoffLimit=6), [failed], NOW)
    assert out.create == [] and out.requeue_after == pytest.approx(6)
    out = plan(job(completions=1, backoffLimit=6), [failed], NOW, backoff_base=2)
    assert len(out.create) == 1


def test_active_deadline_exceeded() -> None:
    out = plan(job(activeDeadlineSeconds=30, status={"startTime": ago(31)}), [jpod("a")], NOW)
    assert out.delete == ["a"]
    assert out.status["conditions"][0]["reason"] == "DeadlineExceeded"
    assert out.status["failed"] == 1
    out = plan(job(activeDeadlineSeconds=30, status={"startTime": ago(10)}), [jpod("a")], NOW)
    assert out.requeue_after == pytest.approx(20)


def test_indexed_creates_missing_indexes_with_env_and_annotation() -> None:
    pods = [jpod("pi-0-x", "Succeeded", index=0), jpod("pi-2-x", index=2)]
    out = plan(job(completions=4, parallelism=2, completionMode="Indexed"), pods, NOW)
    assert len(out.create) == 1
    p = out.create[0]
    assert p["metadata"]["generateName"] == "pi-1-"
    assert p["metadata"]["annotations"] == {INDEX_ANNOTATION: "1"}
    assert p["spec"]["containers"][0]["env"] == [{"name": "JOB_COMPLETION_INDEX", "value": "1"}]
    assert p["spec"]["hostname"] == "pi-1"
    assert out.status["completedIndexes"] == "0"


def test_indexed_completion_and_duplicate_index_removal() -> None:
    pods = [jpod("a", "Succeeded", index=0), jpod("b", "Succeeded", index=0), jpod("c", index=0)]
    out = plan(job(completions=2, parallelism=2, completionMode="Indexed"), pods, NOW)
    assert out.delete == ["c"]
    assert out.status["succeeded"] == 1
    assert [p["metadata"]["annotations"][INDEX_ANNOTATION] for p in out.create] == ["1"]
    out = plan(
        job(completions=2, completionMode="Indexed", status={"completedIndexes": "1"}),
        [jpod("a", "Succeeded", index=0)],
        NOW,
    )
    assert out.status["completedIndexes"] == "0,1"
    assert out.status["conditions"][0]["type"] == "Complete"


def test_suspend_deletes_active_pods_and_resume_resets_start_time() -> None:
    out = plan(job(suspend=True, status={"startTime": ago(50)}), [jpod("a")], NOW)
    assert out.delete == ["a"] and out.create == []
    assert out.status["conditions"][0]["reason"] == "JobSuspended"
    resumed = job(status=out.status)
    out = plan(resumed, [], NOW)
    assert out.status["startTime"] == "2024-05-01T12:00:00Z"
    assert out.status["conditions"][0]["reason"] == "JobResumed"
    assert len(out.create) == 1


def test_ttl_after_finished() -> None:
    done = {
        "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": ago(100)}],
        "completionTime": ago(100),
    }
    assert plan(job(ttlSecondsAfterFinished=60, status=done), [], NOW).delete_job is True
    out = plan(job(ttlSecondsAfterFinished=300, status=done), [], NOW)
    assert out.delete_job is False and out.requeue_after == pytest.approx(200)


def test_counts_never_go_down_when_pods_are_deleted() -> None:
    out = plan(job(completions=5, status={"succeeded": 3, "failed": 1, "startTime": ago(5)}), [], NOW)
    assert (out.status["succeeded"], out.status["failed"]) == (3, 1)
    assert len(out.create) == 1


@pytest.mark.parametrize(
    ("text", "indexes"), [("", set()), ("1", {1}), ("0,2-4,7,9,10", {0, 2, 3, 4, 7, 9, 10})]
)
def test_completed_indexes_round_trip(text: str, indexes: set[int]) -> None:
    assert parse_indexes(text) == indexes
    assert format_indexes(indexes) == text
