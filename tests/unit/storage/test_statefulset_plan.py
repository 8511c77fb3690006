"""The StatefulSet controller's decisions as tables."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from actors.statefulset.plan import REVISION_LABEL, new_pod, plan, update_revision

STS: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "ns", "uid": "s1", "generation": 1},
    "spec": {
        "replicas": 3,
        "serviceName": "web",
        "podManagementPolicy": "OrderedReady",
        "selector": {"matchLabels": {"app": "web"}},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
        "volumeClaimTemplates": [
            {"metadata": {"name": "www"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
        ],
    },
}


def sts(**spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(STS)
    out["spec"].update(spec)
    return out


def pod(
    i: int, state: str = "ready", owner: dict[str, Any] | None = None, revision: str | None = None
) -> dict[str, Any]:
    s = owner or STS
    p = new_pod(s, i, revision or update_revision(s))
    p["metadata"]["ownerReferences"][0]["uid"] = "s1"
    if state == "ready":
        p["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    elif state == "pending":
        p["status"] = {"phase": "Pending"}
    elif state == "failed":
        p["status"] = {"phase": "Failed"}
    elif state == "terminating":
        p["status"] = {"phase": "Running"}
        p["metadata"]["deletionTimestamp"] = "t"
    return p


def claim(i: int) -> dict[str, Any]:
    return {"metadata": {"name": f"www-web-{i}", "namespace": "ns"}}


@pytest.mark.parametrize(
    ("sset", "pods", "claims", "creates", "claim_creates", "deletes"),
    [
        # OrderedReady: one pod at a time, each with its claim first
        (sts(), [], [], ["web-0"], ["www-web-0"], []),
        (sts(), [pod(0, "pending")], [claim(0)], [], [], []),  # wait for web-0 to be Ready
        (sts(), [pod(0)], [claim(0)], ["web-1"], ["www-web-1"], []),
        (sts(), [pod(0), pod(1)], [claim(0), claim(1), claim(2)], ["web-2"], [], []),  # claim kept
        # Parallel: all at once
        (
            sts(podManagementPolicy="Parallel"),
            [],
            [],
            ["web-0", "web-1", "web-2"],
            ["www-web-0", "www-web-1", "www-web-2"],
            [],
        ),
        # a failed pod is deleted to be made again
        (sts(), [pod(0), pod(1, "failed"), pod(2)], [], [], [], ["web-1"]),
        # scale down: highest first, one at a time, only when the rest are healthy
        (sts(replicas=1), [pod(0), pod(1), pod(2)], [], [], [], ["web-2"]),
        (sts(replicas=1), [pod(0), pod(1), pod(2, "terminating")], [], [], [], []),
        (sts(replicas=1), [pod(0, "pending"), pod(1), pod(2)], [], [], [], []),
        (
            sts(replicas=1, podManagementPolicy="Parallel"),
            [pod(0), pod(1), pod(2)],
            [],
            [],
            [],
            ["web-2", "web-1"],
        ),
    ],
)
def test_plan_pods_and_claims(
    sset: dict,
    pods: list[dict],
    claims: list[dict],
    creates: list[str],
    claim_creates: list[str],
    deletes: list[str],
) -> None:
    out = plan(sset, pods, claims)
    assert [p["metadata"]["name"] for p in out.create_pods] == creates
    assert [c["metadata"]["name"] for c in out.create_claims] == claim_creates
    assert out.delete_pods == deletes


def test_new_pod_identity_and_claims() -> None:
    p = new_pod(STS, 2, "web-abc")
    assert p["metadata"]["name"] == "web-2"
    assert p["spec"]["hostname"] == "web-2" and p["spec"]["subdomain"] == "web"
    assert p["metadata"]["labels"] == {
        "app": "web",
        "statefulset.kubernetes.io/pod-name": "web-2",
        "apps.kubernetes.io/pod-index": "2",
        REVISION_LABEL: "web-abc",
    }
    assert p["spec"]["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-2"}}]


@pytest.mark.parametrize(
    ("partition", "stale", "deletes"),
    [
        (0, [0, 1, 2], ["web-2"]),  # highest ordinal first
        (0, [0, 1], ["web-1"]),
        (2, [0, 1, 2], ["web-2"]),
        (2, [0, 1], []),  # below the partition: kept
        (0, [], []),
    ],
)
def test_rolling_update_with_partition(partition: int, stale: list[int], deletes: list[str]) -> None:
    new = sts(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": partition}})
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "i2"
    pods = [pod(i, owner=new, revision="web-old" if i in stale else None) for i in range(3)]
    out = plan(new, pods, [claim(0), claim(1), claim(2)])
    assert out.delete_pods == deletes


def test_on_delete_leaves_stale_pods() -> None:
    new = sts(updateStrategy={"type": "OnDelete"})
    pods = [pod(i, owner=new, revision="web-old") for i in range(3)]
    assert plan(new, pods, []).delete_pods == []


def test_status_counts() -> None:
    out = plan(STS, [pod(0), pod(1, "pending")], [])
    assert out.status is not None
    assert {k: out.status[k] for k in ("replicas", "readyReplicas", "updatedReplicas")} == {
        "replicas": 2,
        "readyReplicas": 1,
        "updatedReplicas": 2,
    }
    assert out.status["updateRevision"] == update_revision(STS)


@pytest.mark.parametrize(
    ("when_deleted", "when_scaled", "replicas", "expect"),
    [
        ("Retain", "Retain", 1, {}),
        ("Delete", "Retain", 3, {f"www-web-{i}": ["StatefulSet"] for i in range(3)}),
        ("Retain", "Delete", 1, {"www-web-1": ["Pod"], "www-web-2": ["Pod"]}),
        (
            "Delete",
            "Delete",
            2,
            {"www-web-0": ["StatefulSet"], "www-web-1": ["StatefulSet"], "www-web-2": ["Pod"]},
        ),
    ],
)
def test_retention_policy_as_owner_references(
    when_deleted: str, when_scaled: str, replicas: int, expect: dict[str, list[str]]
) -> None:
    s = sts(
        replicas=replicas,
        persistentVolumeClaimRetentionPolicy={"whenDeleted": when_deleted, "whenScaled": when_scaled},
    )
    pods = [pod(i, owner=s) for i in range(3)]
    for i, p in enumerate(pods):
        p["metadata"]["uid"] = f"pod-{i}"
    out = plan(s, pods, [claim(i) for i in range(3)])
    assert {name: [r["kind"] for r in refs] for name, refs in out.claim_owners.items()} == expect
    if when_deleted == "Delete":
        new = plan(s, [], [])
        assert new.create_claims[0]["metadata"]["ownerReferences"][0]["uid"] == "s1"


def test_min_ready_seconds_counts_available_pods_and_says_when_to_look_again() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    pods = [pod(0), pod(1), pod(2)]
    for p, since in zip(pods, ("00:00:00", "00:00:25", "00:00:29"), strict=True):
        p["status"]["conditions"][0]["lastTransitionTime"] = f"2026-01-01T{since}Z"
    claims = [claim(i) for i in range(3)]
    out = plan(sts(minReadySeconds=10), pods, claims, now=now)
    assert out.status is not None
    assert (out.status["readyReplicas"], out.status["availableReplicas"]) == (3, 1)
    assert out.requeue_after == 5.0, "web-1 becomes available first, 5 s from now"
    plain = plan(sts(), pods, claims, now=now)
    assert plain.status is not None and plain.status["availableReplicas"] == 3 and plain.requeue_after is None
