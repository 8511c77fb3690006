"""apiVersion conversion: old group versions to storage with their own defaults, and back."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.convert import MAX_INT32, convert
from schemas.decode import normalize
from schemas.errors import BadRequest


def workload(kind: str, api_version: str, selector: bool = False, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "x:1"}]},
        }
    }
    if selector:
        base["selector"] = {"matchLabels": {"app": "a"}}
    base.update(spec)
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "w"}, "spec": base}


# (kind, apiVersion, selector given, expected subset of the normalized spec)
NORMALIZE_TABLE: list[tuple[str, str, bool, dict[str, Any]]] = [
    (
        "Deployment",
        "extensions/v1beta1",
        False,
        {
            "selector": {"matchLabels": {"app": "a"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
            "revisionHistoryLimit": MAX_INT32,
            "progressDeadlineSeconds": MAX_INT32,
            "replicas": 1,
        },
    ),
    (
        "Deployment",
        "apps/v1beta1",
        False,
        {
            "selector": {"matchLabels": {"app": "a"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "revisionHistoryLimit": 2,
            "progressDeadlineSeconds": 600,
        },
    ),
    (
        "Deployment",
        "apps/v1beta2",
        True,
        {
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
    ),
    (
        "Deployment",
        "apps/v1",
        True,
        {
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "replicas": 1,
        },
    ),
    ("ReplicaSet", "extensions/v1beta1", False, {"selector": {"matchLabels": {"app": "a"}}, "replicas": 1}),
    ("ReplicaSet", "apps/v1beta2", True, {"replicas": 1}),
    (
        "DaemonSet",
        "extensions/v1beta1",
        False,
        {
            "selector": {"matchLabels": {"app": "a"}},
            "updateStrategy": {"type": "OnDelete"},
            "revisionHistoryLimit": 10,
        },
    ),
    (
        "DaemonSet",
        "apps/v1beta2",
        True,
        {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}},
    ),
    (
        "DaemonSet",
        "apps/v1",
        True,
        {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}},
    ),
]


@pytest.mark.parametrize(("kind", "api_version", "selector", "expected"), NORMALIZE_TABLE)
def test_normalize_old_versions(kind: str, api_version: str, selector: bool, expected: dict, subset) -> None:
    out = normalize(workload(kind, api_version, selector))
    assert out["apiVersion"] == "apps/v1"
    assert out["kind"] == kind
    assert subset(expected, out["spec"]) == []
    assert "updateStrategy" not in out["spec"] or out["spec"]["updateStrategy"] == expected.get(
        "updateStrategy", out["spec"]["updateStrategy"]
    )


def test_extensions_deployment_takes_labels_from_template() -> None:
    out = normalize(workload("Deployment", "extensions/v1beta1"))
    assert out["metadata"]["labels"] == {"app": "a"}


def test_explicit_fields_beat_old_defaults() -> None:
    obj = workload("Deployment", "extensions/v1beta1", revisionHistoryLimit=3, strategy={"type": "Recreate"})
    out = normalize(obj)
    assert out["spec"]["revisionHistoryLimit"] == 3
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_rollback_to_and_template_generation_are_dropped() -> None:
    d = normalize(workload("Deployment", "extensions/v1beta1", rollbackTo={"revision": 1}))
    assert "rollbackTo" not in d["spec"]
    ds = normalize(workload("DaemonSet", "extensions/v1beta1", templateGeneration=2))
    assert "templateGeneration" not in ds["spec"]


def test_apps_v1beta2_requires_a_selector() -> None:
    from schemas.errors import Invalid

    with pytest.raises(Invalid, match=r"spec.selector: Required value"):
        normalize(workload("Deployment", "apps/v1beta2"))


@pytest.mark.parametrize("api_version", ["batch/v1beta1", "batch/v2alpha1", "batch/v1"])
def test_cronjob_versions(api_version: str) -> None:
    obj = {
        "apiVersion": api_version,
        "kind": "CronJob",
        "metadata": {"name": "hello"},
        "spec": {
            "schedule": "*/1 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "c", "image": "busybox"}],
                            "restartPolicy": "OnFailure",
                        }
                    }
                }
            },
        },
    }
    out = normalize(obj)
    assert out["apiVersion"] == "batch/v1"
    spec = out["spec"]
    assert (
        spec["concurrencyPolicy"],
        spec["suspend"],
        spec["successfulJobsHistoryLimit"],
        spec["failedJobsHistoryLimit"],
    ) == (
        "Allow",
        False,
        3,
        1,
    )
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"


# (kind, from, to, expected apiVersion after)
CONVERT_TABLE = [
    ("Deployment", "extensions/v1beta1", "apps/v1", "apps/v1"),
    ("Deployment", "apps/v1", "extensions/v1beta1", "extensions/v1beta1"),
    ("Deployment", "apps/v1beta1", "apps/v1beta2", "apps/v1beta2"),
    ("ReplicaSet", "extensions/v1beta1", "apps/v1", "apps/v1"),
    ("DaemonSet", "apps/v1", "apps/v1beta2", "apps/v1beta2"),
    ("DaemonSet", "extensions/v1beta1", "apps/v1", "apps/v1"),
]


@pytest.mark.parametrize(("kind", "source", "target", "expected"), CONVERT_TABLE)
def test_convert_table(kind: str, source: str, target: str, expected: str) -> None:
    obj = workload(kind, source, selector=True)
    out = convert(obj, target)
    assert out["apiVersion"] == expected
    assert obj["apiVersion"] == source, "convert must not change its input"
    assert out["spec"]["template"] == obj["spec"]["template"]


def test_convert_up_applies_source_defaults() -> None:
    out = convert(workload("DaemonSet", "extensions/v1beta1"), "apps/v1")
    assert out["spec"]["updateStrategy"] == {"type": "OnDelete"}
    assert out["spec"]["selector"] == {"matchLabels": {"app": "a"}}


def test_convert_round_trip_of_a_stored_object() -> None:
    obj = workload("Deployment", "apps/v1", selector=True)
    obj["metadata"]["labels"] = {"app": "a"}  # else extensions/v1beta1 defaults them on the way back
    stored = normalize(obj)
    there = convert(stored, "extensions/v1beta1")
    assert there["apiVersion"] == "extensions/v1beta1"
    back = convert(there, "apps/v1")
    assert back == stored
    assert normalize(back) == stored


@pytest.mark.parametrize(
    ("obj", "target", "message"),
    [
        (workload("Deployment", "apps/v1", True), "v1", 'no matches for kind "Deployment" in version "v1"'),
        (
            workload("Deployment", "apps/v9", True),
            "apps/v1",
            'no matches for kind "Deployment" in version "apps/v9"',
        ),
        ({"apiVersion": "v1", "kind": "Pod"}, "apps/v1", 'no matches for kind "Pod" in version "apps/v1"'),
        ({"kind": "Pod"}, "v1", "must be set"),
    ],
)
def test_convert_refuses(obj: dict, target: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        convert(obj, target)


def test_core_kinds_convert_to_themselves() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    assert convert(obj, "v1") == obj
