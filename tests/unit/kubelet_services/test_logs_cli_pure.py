"""The logs command's pure parts: Go durations, kubectl's choice of a controller's pod."""

from __future__ import annotations

import pytest

from cli.commands.logs import controller_selector, parse_duration, pick_pod, pod_request
from schemas.errors import BadRequest


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5), ("2m", 120), ("1h", 3600), ("1h30m", 5400), ("1.5h", 5400), ("250ms", 0.25), ("0", 0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5", "m", "5x", "1h 2m", "-1s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_duration(text)
    assert "invalid duration" in err.value.message


def _pod(
    name: str,
    *,
    node: str = "n",
    phase: str = "Running",
    ready: bool = True,
    restarts: int = 0,
    created: str = "2024-01-01T00:00:00Z",
) -> dict:
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {"nodeName": node},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"restartCount": restarts}],
        },
    }


@pytest.mark.parametrize(
    ("pods", "chosen"),
    [
        ([_pod("pending", phase="Pending"), _pod("running")], "running"),
        ([_pod("unbound", node=""), _pod("bound", phase="Pending")], "bound"),
        ([_pod("notready", ready=False), _pod("ready")], "ready"),
        ([_pod("calm"), _pod("restarted", restarts=3)], "restarted"),
        ([_pod("newer", created="2024-01-02T00:00:00Z"), _pod("older")], "older"),
        ([], None),
    ],
)
def test_pick_pod_as_kubectl(pods: list[dict], chosen: str | None) -> None:
    got = pick_pod(pods)
    assert (got["metadata"]["name"] if got else None) == chosen


def test_controller_selectors() -> None:
    rc = {"kind": "ReplicationController", "spec": {"selector": {"app": "x"}}}
    assert controller_selector(rc).matches({"app": "x", "z": "1"})
    job = {"kind": "Job", "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}}}
    assert controller_selector(job).matches({"batch.kubernetes.io/controller-uid": "u"})
    assert not controller_selector(job).matches({"job-name": "x"})


def test_a_mirror_pod_names_its_static_pods_uid() -> None:
    mirror = {
        "metadata": {
            "name": "web-n1",
            "namespace": "kube-system",
            "uid": "api-uid",
            "annotations": {"kubernetes.io/config.mirror": "hash"},
        }
    }
    assert pod_request(mirror, "c") == {
        "namespace": "kube-system",
        "pod": "web-n1",
        "uid": "hash",
        "container": "c",
    }


def test_a_job_without_a_selector_selects_its_controller_uid() -> None:
    job = {"kind": "Job", "metadata": {"name": "pi", "uid": "u9"}, "spec": {}}
    assert controller_selector(job).matches({"batch.kubernetes.io/controller-uid": "u9"})
    assert not controller_selector(job).matches({"batch.kubernetes.io/controller-uid": "other"})
