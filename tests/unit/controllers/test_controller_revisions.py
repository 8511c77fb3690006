"""ControllerRevision decisions: create, renumber on rollback, history limit, undo's choice."""

from __future__ import annotations

from typing import Any

import pytest

from actors.workload.revisions import history, plan_revisions, revision_name, rollback_template
from schemas.errors import BadRequest, NotFound

OWNER: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"spec": {"containers": [{"image": "i:3"}]}},
    },
}


def rev(h: str, n: int, image: str = "i") -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"web-{h}",
            "namespace": "ns",
            "ownerReferences": [{"uid": "u1", "controller": True, "name": "web", "kind": "StatefulSet"}],
        },
        "data": {"spec": {"template": {"spec": {"containers": [{"image": image}]}, "$patch": "replace"}}},
        "revision": n,
    }


def test_first_revision_is_created_with_labels_and_owner() -> None:
    out = plan_revisions(OWNER, "StatefulSet", [], "web-abc", set())
    assert out.create is not None and out.renumber is None and out.delete == []
    assert out.create["metadata"]["name"] == "web-abc" and out.create["revision"] == 1
    assert out.create["metadata"]["labels"] == {"app": "web", "controller-revision-hash": "web-abc"}
    assert out.create["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert out.create["data"]["spec"]["template"]["$patch"] == "replace"


def test_a_new_template_gets_the_next_number_and_a_rollback_renumbers() -> None:
    assert plan_revisions(OWNER, "DaemonSet", [rev("a", 1), rev("b", 2)], "c", set()).create["revision"] == 3  # type: ignore[index]
    again = plan_revisions(OWNER, "DaemonSet", [rev("a", 1), rev("b", 2)], "a", set())
    assert again.create is None and again.renumber == ("web-a", 3)
    assert plan_revisions(OWNER, "DaemonSet", [rev("a", 1), rev("b", 2)], "b", set()).renumber is None


def test_history_limit_deletes_the_oldest_unused() -> None:
    owner = {**OWNER, "spec": {**OWNER["spec"], "revisionHistoryLimit": 1}}
    revs = [rev("a", 1), rev("b", 2), rev("c", 3), rev("d", 4)]
    out = plan_revisions(owner, "DaemonSet", revs, "d", in_use={"a"})
    assert out.delete == ["web-b"], "a is still used by a live pod; c is the one history entry kept"


def test_undo_picks_the_previous_or_the_given_revision() -> None:
    revs = [rev("a", 1, "i:1"), rev("b", 2, "i:2"), rev("c", 3, "i:3")]
    assert [r.revision for r in history(OWNER, revs)] == [1, 2, 3]
    template, n = rollback_template(OWNER, revs)
    assert (n, template["spec"]["containers"][0]["image"]) == (2, "i:2") and "$patch" not in template
    assert rollback_template(OWNER, revs, 1)[1] == 1
    with pytest.raises(NotFound):
        rollback_template(OWNER, revs, 7)
    with pytest.raises(BadRequest):
        rollback_template(OWNER, revs[:1])
    assert revision_name(OWNER, "web-x") == "web-x" and revision_name(OWNER, "x") == "web-x"
