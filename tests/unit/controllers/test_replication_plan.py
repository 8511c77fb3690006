"""Table tests of the replication plan: state in, exact actions out."""

from __future__ import annotations

import pytest

from actors.replication.plan import RC, RS, plan
from actors.workload.podutil import pods_to_delete
from tests.unit.controllers.factories import NOW, ago, pod, ref, template

OWNER = ref("ReplicationController", "web", "uid-web")
OTHER = ref("ReplicationController", "other", "uid-other")


def rc(replicas: int = 3, *, min_ready: int = 0, status: dict | None = None, deleting: bool = False) -> dict:
    meta = {"name": "web", "namespace": "default", "uid": "uid-web", "generation": 2}
    if deleting:
        meta["deletionTimestamp"] = ago(0)
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"app": "web"},
            "template": template(),
            "minReadySeconds": min_ready,
        },
        "status": status or {},
    }


def test_creates_missing_pods_from_the_template_with_an_owner_reference() -> None:
    out = plan(rc(3), RC, [pod("web-a", owner=OWNER)], NOW)
    assert out.create == 2
    assert out.delete == [] and out.adopt == [] and out.release == []
    assert out.pod == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "web-",
            "namespace": "default",
            "labels": {"app": "web"},
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ReplicationController",
                    "name": "web",
                    "uid": "uid-web",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]},
    }
    assert out.status == {
        "replicas": 1,
        "fullyLabeledReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "observedGeneration": 2,
    }


@pytest.mark.parametrize(
    ("pods", "create", "delete"),
    [
        # failed and succeeded pods do not count: replaced
        (
            [
                pod("a", owner=OWNER),
                pod("b", owner=OWNER, phase="Failed"),
                pod("c", owner=OWNER, phase="Succeeded"),
            ],
            2,
            [],
        ),
        # terminating pods do not count either
        ([pod("a", owner=OWNER), pod("b", owner=OWNER, deleting=True)], 2, []),
        # another controller's pods are not ours
        ([pod("a", owner=OTHER)], 3, []),
        # exact count: nothing to do
        ([pod("a", owner=OWNER), pod("b", owner=OWNER), pod("c", owner=OWNER)], 0, []),
    ],
)
def test_counts(pods: list, create: int, delete: list) -> None:
    out = plan(rc(3), RC, pods, NOW)
    assert (out.create, out.delete) == (create, delete)


def test_adopts_orphans_and_releases_pods_that_stopped_matching() -> None:
    pods = [
        pod("orphan"),
        pod("orphan-terminating", deleting=True),
        pod("mismatch", owner=OWNER, labels={"app": "other"}),
        pod("unrelated", labels={"app": "other"}),
    ]
    out = plan(rc(1), RC, pods, NOW)
    assert out.adopt == ["orphan"]
    assert out.release == ["mismatch"]
    assert out.create == 0 and out.delete == []


def test_no_adoption_nor_creation_while_the_owner_is_deleted() -> None:
    out = plan(rc(3, deleting=True), RC, [pod("orphan")], NOW)
    assert out.adopt == [] and out.create == 0


def test_scale_down_order_is_kubernetes() -> None:
    pods = [
        pod("running-ready-old", owner=OWNER, created=500, ready_for=400),
        pod("running-ready-new", owner=OWNER, created=100, ready_for=90),
        pod("running-unready", owner=OWNER, ready=False),
        pod("unknown", owner=OWNER, phase="Unknown"),
        pod("pending", owner=OWNER, phase="Pending"),
        pod("unassigned", owner=OWNER, phase="Pending", node=None),
        pod("restarty", owner=OWNER, created=500, ready_for=400, restarts=5),
    ]
    order = [p["metadata"]["name"] for p in pods_to_delete(pods, len(pods))]
    assert order == [
        "unassigned",
        "pending",
        "unknown",
        "running-unready",
        "running-ready-new",
        "restarty",
        "running-ready-old",
    ]
    out = plan(rc(4), RC, pods, NOW)
    assert out.delete == ["unassigned", "pending", "unknown"]


def test_expectations_pending_means_no_new_creates_but_status_still_written() -> None:
    out = plan(rc(3), RC, [], NOW, needs_sync=False)
    assert out.create == 0 and out.delete == []
    assert out.status is not None and out.status["replicas"] == 0


def test_burst_caps_creates() -> None:
    assert plan(rc(1000), RC, [], NOW, burst=500).create == 500


def test_available_needs_min_ready_seconds_and_requeues() -> None:
    pods = [
        pod("a", owner=OWNER, ready_for=5),
        pod("b", owner=OWNER, ready_for=60),
        pod("c", owner=OWNER, ready=False),
    ]
    out = plan(rc(3, min_ready=10), RC, pods, NOW)
    assert out.status == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 2,
        "availableReplicas": 1,
        "observedGeneration": 2,
    }
    assert out.requeue_after == pytest.approx(5)


def test_unchanged_status_is_not_rewritten() -> None:
    status = {
        "replicas": 1,
        "fullyLabeledReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "observedGeneration": 2,
    }
    assert plan(rc(1, status=status), RC, [pod("a", owner=OWNER)], NOW).status is None


def test_replicaset_uses_a_label_selector_and_apps_v1_owner() -> None:
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "generation": 1},
        "spec": {
            "replicas": 2,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe"]}],
            },
            "template": template({"app": "web", "tier": "fe"}),
        },
    }
    out = plan(rs, RS, [pod("x", labels={"app": "web"}), pod("y", labels={"app": "web", "tier": "fe"})], NOW)
    assert out.adopt == ["y"]
    assert out.create == 1
    assert out.pod["metadata"]["ownerReferences"][0]["apiVersion"] == "apps/v1"
    assert out.pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
