"""Garbage-collector decisions as tables."""

from __future__ import annotations

from typing import Any

import pytest

from actors.gc.plan import (
    DeleteObject,
    OwnerState,
    Ref,
    UpdateObject,
    owner_state,
    plan_dependent,
    plan_orphaned_pods,
    plan_owner,
    plan_terminated_pods,
)

A, B = OwnerState.ABSENT, OwnerState.SOLID
W = OwnerState.WAITING


def oref(uid: str, block: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": f"rs-{uid}",
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": block,
    }


def obj(name: str, owners: list[str] = (), **meta: Any) -> dict[str, Any]:  # type: ignore[assignment]
    m: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "5"}
    if owners:
        m["ownerReferences"] = [oref(u) for u in owners]
    m.update(meta)
    return {"metadata": m}


POD = Ref("pods", "default", "p")


@pytest.mark.parametrize(
    ("owners", "states", "has_deps", "meta", "expected"),
    [
        pytest.param([], {}, False, {}, [], id="no-owners"),
        pytest.param(["o1"], {"o1": B}, False, {}, [], id="owner-alive"),
        pytest.param(["o1"], {"o1": A}, False, {}, [DeleteObject(POD, "uid-p")], id="owner-gone-background"),
        pytest.param(
            ["o1"],
            {"o1": A},
            False,
            {"finalizers": ["orphan"]},
            [DeleteObject(POD, "uid-p", "Orphan")],
            id="owner-gone-own-orphan-finalizer",
        ),
        pytest.param(["o1"], {"o1": W}, False, {}, [DeleteObject(POD, "uid-p")], id="owner-foreground-leaf"),
        pytest.param(
            ["o1"],
            {"o1": W},
            True,
            {},
            [DeleteObject(POD, "uid-p", "Foreground")],
            id="owner-foreground-with-grandchildren",
        ),
        pytest.param(["o1"], {"o1": A}, False, {"deletionTimestamp": "t"}, [], id="already-deleting"),
        pytest.param(["o1"], {}, False, {}, [], id="unknown-owner-kept"),
    ],
)
def test_plan_dependent_delete(
    owners: list[str], states: dict, has_deps: bool, meta: dict, expected: list
) -> None:
    assert plan_dependent(POD, obj("p", owners, **meta), states, has_deps) == expected


def test_plan_dependent_detaches_when_another_owner_lives() -> None:
    dep = obj("p", ["o1", "o2", "o3"])
    [action] = plan_dependent(POD, dep, {"o1": A, "o2": B, "o3": W}, False)
    assert isinstance(action, UpdateObject)
    assert [r["uid"] for r in action.obj["metadata"]["ownerReferences"]] == ["o2"]
    assert action.obj["metadata"]["resourceVersion"] == "5"
    assert len(dep["metadata"]["ownerReferences"]) == 3  # input untouched


@pytest.mark.parametrize(
    ("owner", "uid", "expected"),
    [
        (None, "x", A),
        ({"metadata": {"uid": "y"}}, "x", A),  # same name, new incarnation
        ({"metadata": {"uid": "x"}}, "x", B),
        ({"metadata": {"uid": "x", "deletionTimestamp": "t", "finalizers": ["orphan"]}}, "x", B),
        ({"metadata": {"uid": "x", "deletionTimestamp": "t", "finalizers": ["foregroundDeletion"]}}, "x", W),
    ],
)
def test_owner_state(owner: dict | None, uid: str, expected: OwnerState) -> None:
    assert owner_state(owner, uid) == expected


OWNER = Ref("replicasets", "default", "rs")


def owner(*finalizers: str, deleting: bool = True) -> dict[str, Any]:
    o = obj("rs")
    o["metadata"]["uid"] = "o1"
    if deleting:
        o["metadata"]["deletionTimestamp"] = "t"
    if finalizers:
        o["metadata"]["finalizers"] = list(finalizers)
    return o


def test_orphan_detaches_then_removes_finalizer() -> None:
    deps = [
        (Ref("pods", "default", "a"), obj("a", ["o1"])),
        (Ref("pods", "default", "b"), obj("b", ["o1", "o2"])),
    ]
    actions = plan_owner(OWNER, owner("orphan"), deps)
    assert [a.ref.name for a in actions] == ["a", "b"]
    assert "ownerReferences" not in actions[0].obj["metadata"]
    assert [r["uid"] for r in actions[1].obj["metadata"]["ownerReferences"]] == ["o2"]
    [done] = plan_owner(OWNER, owner("orphan", "custom"), [])
    assert done == UpdateObject(OWNER, {**owner("custom")})


def test_foreground_waits_for_blocking_dependents() -> None:
    blocking = (Ref("pods", "default", "a"), obj("a", ["o1"], deletionTimestamp="t"))
    assert plan_owner(OWNER, owner("foregroundDeletion"), [blocking]) == []
    non_blocking = obj("b")
    non_blocking["metadata"]["ownerReferences"] = [oref("o1", block=False)]
    [done] = plan_owner(OWNER, owner("foregroundDeletion"), [(Ref("pods", "default", "b"), non_blocking)])
    assert done.obj["metadata"].get("finalizers") is None
    assert done.obj["metadata"]["deletionTimestamp"] == "t"


def test_owner_not_deleting_untouched() -> None:
    assert plan_owner(OWNER, owner("orphan", deleting=False), []) == []


def pod(name: str, phase: str, created: str, node: str | None = "n1", **meta: Any) -> dict[str, Any]:
    p = obj(name, creationTimestamp=created, **meta)
    p["status"] = {"phase": phase}
    p["spec"] = {"nodeName": node} if node else {}
    return p


def test_terminated_pod_gc_deletes_oldest_beyond_threshold() -> None:
    pods = [
        pod("new", "Succeeded", "2024-01-03T00:00:00Z"),
        pod("old", "Failed", "2024-01-01T00:00:00Z"),
        pod("mid", "Succeeded", "2024-01-02T00:00:00Z"),
        pod("run", "Running", "2023-01-01T00:00:00Z"),
    ]
    assert [a.ref.name for a in plan_terminated_pods(pods, 1)] == ["old", "mid"]
    assert plan_terminated_pods(pods, 3) == []
    assert plan_terminated_pods(pods, 0) == []
    assert plan_terminated_pods(pods, 2) == [
        DeleteObject(Ref("pods", "default", "old"), "uid-old", "Background", 0)
    ]


def test_orphaned_pods() -> None:
    pods = [
        pod("a", "Running", "t", node="gone"),
        pod("b", "Running", "t", node="n1"),
        pod("c", "Pending", "t", node=None),
        pod("d", "Pending", "t", node=None, deletionTimestamp="t"),
    ]
    actions = plan_orphaned_pods(pods, lambda n: n == "n1")
    assert [(a.ref.name, a.grace_period_seconds) for a in actions] == [("a", 0), ("d", 0)]
