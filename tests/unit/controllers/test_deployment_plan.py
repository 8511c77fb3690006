"""Table tests of the deployment plan, and a simulated rolling update checked at every step."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from actors.deployment import util as du
from actors.deployment.plan import Event, plan
from actors.deployment.rollout import rollback_template, rollout_status
from actors.workload.hashing import POD_TEMPLATE_HASH, template_hash
from schemas.errors import NotFound, Timeout
from tests.unit.controllers.factories import NOW, ago, pod, template

UID = "uid-nginx"


def deploy(
    replicas: int = 3,
    *,
    image: str = "nginx:1.25",
    strategy: dict | None = None,
    status: dict | None = None,
    generation: int = 1,
    **spec: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "nginx",
            "namespace": "default",
            "uid": UID,
            "generation": generation,
            "annotations": {du.REVISION: "1"} if status else {},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template(image=image),
            "strategy": strategy
            or {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
            **spec,
        },
        "status": status or {},
    }


def owned_rs(
    d: dict, image: str, replicas: int, available: int | None = None, revision: int = 1, created: float = 1000
) -> dict[str, Any]:
    tpl = template(image=image)
    h = template_hash(tpl)
    tpl["metadata"]["labels"][POD_TEMPLATE_HASH] = h
    available = replicas if available is None else available
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"nginx-{h}",
            "namespace": "default",
            "uid": f"uid-rs-{h}",
            "generation": 1,
            "creationTimestamp": ago(created),
            "labels": {"app": "web", POD_TEMPLATE_HASH: h},
            "annotations": {
                du.REVISION: str(revision),
                du.DESIRED_REPLICAS: str(du.replicas_of(d)),
                du.MAX_REPLICAS: str(du.replicas_of(d) + du.max_surge(d)),
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "nginx",
                    "uid": UID,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web", POD_TEMPLATE_HASH: h}},
            "template": tpl,
            "minReadySeconds": 0,
        },
        "status": {
            "replicas": replicas,
            "readyReplicas": available,
            "availableReplicas": available,
            "observedGeneration": 1,
        },
    }


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        ("25%", "25%", 3, (1, 0)),
        ("25%", "25%", 4, (1, 1)),
        ("25%", "25%", 10, (3, 2)),
        (0, 0, 3, (0, 1)),
        ("0%", "0%", 3, (0, 1)),
        (2, "50%", 3, (2, 1)),
        (None, None, 1, (1, 0)),
    ],
)
def test_fenceposts(surge: Any, unavailable: Any, desired: int, expected: tuple[int, int]) -> None:
    assert du.resolve_fenceposts(surge, unavailable, desired) == expected


def test_new_deployment_creates_its_first_replicaset() -> None:
    d = deploy(3)
    out = plan(d, [], [], NOW)
    h = template_hash(d["spec"]["template"])
    rs = out.create
    assert rs is not None
    assert rs["metadata"]["name"] == f"nginx-{h}"
    assert rs["metadata"]["labels"] == {"app": "web", POD_TEMPLATE_HASH: h}
    assert rs["metadata"]["annotations"] == {du.REVISION: "1", du.DESIRED_REPLICAS: "3", du.MAX_REPLICAS: "4"}
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs["spec"]["replicas"] == 3
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", POD_TEMPLATE_HASH: h}}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", POD_TEMPLATE_HASH: h}
    assert out.annotations == {du.REVISION: "1"}
    assert out.events == [Event("Normal", "ScalingReplicaSet", f"Scaled up replica set nginx-{h} to 3")]
    progressing = next(c for c in out.status["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetCreated")


def test_first_step_of_a_rolling_update() -> None:
    d = deploy(4, image="nginx:1.26")
    old = owned_rs(d, "nginx:1.25", 4)
    out = plan(d, [old], [], NOW)
    assert out.create is not None and out.create["spec"]["replicas"] == 1  # 4 + maxSurge 1 - 4
    assert out.create["metadata"]["annotations"][du.REVISION] == "2"
    assert [(u.name, u.replicas) for u in out.updates] == [(old["metadata"]["name"], 3)]


def _simulate(d: dict[str, Any], rses: list[dict[str, Any]], steps: int = 40) -> list[tuple[int, int]]:
    """Apply each plan, then let every RS's pods become available; record (available, total)."""
    seen = []
    for _ in range(steps):
        out = plan(d, rses, [], NOW)
        if out.create is not None:
            rs = copy.deepcopy(out.create)
            rs["metadata"]["uid"] = "uid-" + rs["metadata"]["name"]
            rs["metadata"]["creationTimestamp"] = ago(0)
            rs["status"] = {"replicas": 0, "availableReplicas": 0, "readyReplicas": 0}
            rses.append(rs)
        for u in out.updates:
            rs = next(r for r in rses if r["metadata"]["name"] == u.name)
            if u.replicas is not None:
                rs["spec"]["replicas"] = u.replicas
            rs["metadata"].setdefault("annotations", {}).update(u.annotations)
        rses[:] = [r for r in rses if r["metadata"]["name"] not in out.delete]
        if out.status is not None:
            d["status"] = out.status
        if out.annotations:
            d["metadata"]["annotations"].update(out.annotations)
        total = sum(r["spec"]["replicas"] for r in rses)
        # pods removed at once, new pods start unavailable: the worst moment of this step
        available_now = sum(min(r["status"]["availableReplicas"], r["spec"]["replicas"]) for r in rses)
        seen.append((available_now, total))
        for r in rses:  # the next moment: every pod ready and available
            r["status"] = {
                "replicas": r["spec"]["replicas"],
                "readyReplicas": r["spec"]["replicas"],
                "availableReplicas": r["spec"]["replicas"],
                "observedGeneration": 1,
            }
        if rollout_status(d)[1] and out.create is None and not out.updates and out.status is None:
            break
    return seen


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable"), [(4, 1, 1), (3, "25%", "25%"), (10, 0, 3), (5, 3, 0)]
)
def test_rolling_update_keeps_within_surge_and_unavailable(
    replicas: int, surge: Any, unavailable: Any
) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    d = deploy(replicas, image="nginx:1.26", strategy=strategy, status={"observedGeneration": 1})
    rses = [owned_rs(d, "nginx:1.25", replicas)]
    max_surge, max_unavail = du.max_surge(d), du.max_unavailable(d)
    seen = _simulate(d, rses)
    for available, total in seen:
        assert available >= replicas - max_unavail
        assert total <= replicas + max_surge
    assert rollout_status(d) == ('deployment "nginx" successfully rolled out', True)
    new = [r for r in rses if r["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"]
    assert new[0]["spec"]["replicas"] == replicas
    assert d["metadata"]["annotations"][du.REVISION] == "2"
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"


def test_recreate_scales_old_to_zero_then_waits_for_pods_then_creates() -> None:
    d = deploy(2, image="nginx:1.26", strategy={"type": "Recreate"})
    old = owned_rs(d, "nginx:1.25", 2)
    out = plan(d, [old], [], NOW)
    assert out.create is None
    assert [(u.name, u.replicas) for u in out.updates] == [(old["metadata"]["name"], 0)]
    old["spec"]["replicas"] = 0
    # its pods are still terminating: the RS still reports them
    assert plan(d, [old], [], NOW).create is None
    old["status"] = {"replicas": 0, "availableReplicas": 0}
    old_pod = pod(
        "nginx-old-x",
        owner={
            "uid": old["metadata"]["uid"],
            "controller": True,
            "kind": "ReplicaSet",
            "name": old["metadata"]["name"],
        },
    )
    assert plan(d, [old], [old_pod], NOW).create is None
    out = plan(d, [old], [], NOW)
    assert out.create is not None and out.create["spec"]["replicas"] == 2


def test_paused_deployment_scales_but_does_not_roll_out() -> None:
    d = deploy(5, image="nginx:1.26", paused=True)
    old = owned_rs(deploy(3), "nginx:1.25", 3)
    out = plan(d, [old], [], NOW)
    assert out.create is None
    assert [(u.name, u.replicas) for u in out.updates] == [(old["metadata"]["name"], 5)]
    progressing = next(c for c in out.status["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")


def test_scaling_event_is_proportional_across_active_replicasets() -> None:
    before = deploy(
        10, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    )
    a = owned_rs(before, "nginx:1.25", 8, created=100, revision=1)
    b = owned_rs(before, "nginx:1.26", 5, available=0, created=10, revision=2)
    d = deploy(20, image="nginx:1.26", strategy=before["spec"]["strategy"])
    out = plan(d, [a, b], [], NOW)
    sizes = {u.name: u.replicas for u in out.updates}
    # allowed 20 + 5 (25%) ... with maxSurge 3: 23 in total, was 13: +10 split 8:5 by max-replicas 13
    assert sizes == {a["metadata"]["name"]: 14, b["metadata"]["name"]: 9}


def test_history_limit_deletes_the_oldest_empty_replicasets_once_complete() -> None:
    d = deploy(
        1,
        image="nginx:1.30",
        revisionHistoryLimit=2,
        status={"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "observedGeneration": 1},
    )
    olds = [owned_rs(d, f"nginx:1.2{i}", 0, revision=i + 1, created=1000 - i) for i in range(4)]
    new = owned_rs(d, "nginx:1.30", 1, revision=5, created=1)
    out = plan(d, [*olds, new], [], NOW)
    assert out.delete == [olds[0]["metadata"]["name"], olds[1]["metadata"]["name"]]


def test_progress_deadline_exceeded() -> None:
    d = deploy(3, image="nginx:1.26", progressDeadlineSeconds=60)
    new = owned_rs(d, "nginx:1.26", 3, available=0, revision=1)
    d["status"] = {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 0,
        "availableReplicas": 0,
        "conditions": [
            {
                "type": "Progressing",
                "status": "True",
                "reason": "ReplicaSetUpdated",
                "lastUpdateTime": ago(120),
                "lastTransitionTime": ago(120),
                "message": "",
            }
        ],
    }
    d["metadata"]["annotations"] = {du.REVISION: "1"}
    out = plan(d, [new], [], NOW)
    cond = next(c for c in out.status["conditions"] if c["type"] == "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
    with pytest.raises(Timeout, match='deployment "nginx" exceeded its progress deadline'):
        rollout_status({**d, "status": out.status})
    # not yet past the deadline: requeued for when it would be
    d["status"]["conditions"][0]["lastUpdateTime"] = ago(30)
    assert plan(d, [new], [], NOW).requeue_after == pytest.approx(30.5)


@pytest.mark.parametrize(
    ("spec_replicas", "status", "generation", "expected"),
    [
        (3, {"observedGeneration": 1}, 2, ("Waiting for deployment spec update to be observed...", False)),
        (
            3,
            {"observedGeneration": 2, "updatedReplicas": 1, "replicas": 4},
            2,
            (
                'Waiting for deployment "nginx" rollout to finish: '
                "1 out of 3 new replicas have been updated...",
                False,
            ),
        ),
        (
            3,
            {"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4},
            2,
            (
                'Waiting for deployment "nginx" rollout to finish: 1 old replicas are pending termination...',
                False,
            ),
        ),
        (
            3,
            {"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 1},
            2,
            (
                'Waiting for deployment "nginx" rollout to finish: 1 of 3 updated replicas are available...',
                False,
            ),
        ),
        (
            3,
            {"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3},
            2,
            ('deployment "nginx" successfully rolled out', True),
        ),
    ],
)
def test_rollout_status_messages(spec_replicas: int, status: dict, generation: int, expected: tuple) -> None:
    assert rollout_status(deploy(spec_replicas, status=status, generation=generation)) == expected


def test_rollback_template_previous_and_to_revision() -> None:
    d = deploy(1, image="nginx:1.27")
    d["metadata"]["annotations"] = {du.REVISION: "3"}
    rses = [
        owned_rs(d, "nginx:1.25", 0, revision=1),
        owned_rs(d, "nginx:1.26", 0, revision=2),
        owned_rs(d, "nginx:1.27", 1, revision=3),
    ]
    assert rollback_template(d, rses)["spec"]["containers"][0]["image"] == "nginx:1.26"
    tpl = rollback_template(d, rses, 1)
    assert tpl["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert POD_TEMPLATE_HASH not in tpl["metadata"]["labels"]
    with pytest.raises(NotFound, match="unable to find specified revision 7 in history"):
        rollback_template(d, rses, 7)


def test_rolled_back_template_reuses_the_old_replicaset_with_a_new_revision() -> None:
    d = deploy(1, image="nginx:1.25", status={"observedGeneration": 1})
    d["metadata"]["annotations"] = {du.REVISION: "2"}
    rs1 = owned_rs(d, "nginx:1.25", 0, revision=1, created=100)
    rs2 = owned_rs(d, "nginx:1.26", 1, revision=2, created=50)
    out = plan(d, [rs1, rs2], [], NOW)
    assert out.create is None
    ch = next(u for u in out.updates if u.name == rs1["metadata"]["name"])
    assert ch.annotations[du.REVISION] == "3"
    assert ch.annotations[du.REVISION_HISTORY] == "1"
    assert ch.replicas == 1
    assert out.annotations == {du.REVISION: "3"}


def test_undo_to_a_superseded_revision_is_not_found() -> None:
    """After rolling back to revision 1 (now revision 3), kubectl no longer knows revision 1."""
    d = deploy(1, image="nginx:1.25")
    d["metadata"]["annotations"] = {du.REVISION: "3"}
    rolled_back = owned_rs(d, "nginx:1.25", 1, revision=3)
    rolled_back["metadata"]["annotations"][du.REVISION_HISTORY] = "1"
    rses = [rolled_back, owned_rs(d, "nginx:1.26", 0, revision=2)]
    assert rollback_template(d, rses, 2)["spec"]["containers"][0]["image"] == "nginx:1.26"
    with pytest.raises(NotFound, match="unable to find specified revision 1 in history"):
        rollback_template(d, rses, 1)
