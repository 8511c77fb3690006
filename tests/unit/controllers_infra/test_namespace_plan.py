"""Namespace deletion decisions as tables."""

from __future__ import annotations

from typing import Any

from actors.namespace.plan import DeleteContent, RemoveFinalizer, SetTerminating, plan


def ns(
    deleting: bool = True, phase: str = "Terminating", finalizers: tuple[str, ...] = ("kubernetes",)
) -> dict:
    n: dict[str, Any] = {
        "metadata": {"name": "team", "resourceVersion": "4"},
        "spec": {"finalizers": list(finalizers)},
        "status": {"phase": phase},
    }
    if deleting:
        n["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return n


def obj(name: str, deleting: bool = False) -> dict:
    o: dict[str, Any] = {"metadata": {"name": name, "namespace": "team", "uid": f"u-{name}"}}
    if deleting:
        o["metadata"]["deletionTimestamp"] = "t"
    return o


def test_active_namespace_untouched() -> None:
    assert plan(ns(deleting=False, phase="Active"), {"pods": [obj("a")]}) == []


def test_deletes_every_object_not_already_going() -> None:
    contents = {"pods": [obj("a"), obj("b", deleting=True)], "services": [obj("s")], "events": [obj("e")]}
    assert plan(ns(), contents) == [
        DeleteContent("pods", "team", "a", "u-a"),
        DeleteContent("services", "team", "s", "u-s"),
    ]


def test_waits_while_objects_terminate() -> None:
    assert plan(ns(), {"pods": [obj("b", deleting=True)]}) == []


def test_empty_removes_finalizer() -> None:
    [action] = plan(ns(finalizers=("kubernetes", "other")), {"pods": [], "events": [obj("e")]})
    assert isinstance(action, RemoveFinalizer)
    assert action.namespace["spec"]["finalizers"] == ["other"]
    assert action.namespace["metadata"]["resourceVersion"] == "4"


def test_finalizer_gone_nothing_to_do() -> None:
    assert plan(ns(finalizers=()), {}) == []


def test_marks_terminating_if_api_did_not() -> None:
    actions = plan(ns(phase="Active"), {"pods": [obj("a")]})
    assert isinstance(actions[0], SetTerminating)
    assert actions[0].namespace["status"]["phase"] == "Terminating"
    assert actions[1] == DeleteContent("pods", "team", "a", "u-a")
