"""rolling-update's steps as a table (max surge 1, max unavailable 0) and the --image RC."""

from __future__ import annotations

import pytest

from cli.rollingupdate import KEY, Counts, Step, new_from_image, next_step, selector_differs
from schemas.errors import BadRequest


@pytest.mark.parametrize(
    ("counts", "desired", "step"),
    [
        (Counts(3, 0, 3, 0), 3, Step("up", 1)),  # one extra pod first
        (Counts(3, 1, 3, 0), 3, Step("wait")),  # the new pod is not ready yet: nothing goes down
        (Counts(3, 1, 3, 1), 3, Step("down", 2)),
        (Counts(2, 1, 2, 1), 3, Step("up", 2)),
        (Counts(1, 3, 1, 3), 3, Step("down", 0)),
        (Counts(0, 3, 0, 3), 3, Step("done")),
        (Counts(3, 1, 2, 1), 3, Step("wait")),  # an old pod is not ready: keep 3 available
        (Counts(0, 0, 0, 0), 2, Step("up", 2)),  # nothing old: straight to the size
        (Counts(3, 0, 3, 0), 5, Step("up", 3)),  # growing: up to desired + 1 at once
    ],
)
def test_next_step(counts, desired, step):
    assert next_step(counts, desired) == step


def test_steps_never_exceed_surge_nor_drop_below_desired_ready():
    c, desired, seen = Counts(4, 0, 4, 0), 4, 0
    while (step := next_step(c, desired)).action != "done":
        if step.action == "up":
            c = Counts(c.old, step.replicas, c.old_ready, c.new_ready)
        elif step.action == "down":
            c = Counts(step.replicas, c.new, min(c.old_ready, step.replicas), c.new_ready)
        else:
            c = Counts(c.old, c.new, c.old_ready, c.new)  # the new pods become ready
        assert c.old + c.new <= desired + 1 and c.old_ready + c.new_ready >= desired
        seen += 1
        assert seen < 50
    assert c == Counts(0, 4, 0, 4)


RC = {
    "apiVersion": "v1",
    "kind": "ReplicationController",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 2,
        "selector": {"app": "web"},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "a:1"}]},
        },
    },
}


def test_new_from_image():
    new = new_from_image(RC, "a:2")
    digest = new["spec"]["selector"][KEY]
    assert new["metadata"]["name"] == f"web-{digest}"
    assert new["spec"]["template"]["metadata"]["labels"] == {"app": "web", KEY: digest}
    assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "a:2"
    assert selector_differs(RC, new) is False  # the old selector would claim the new pods: keyed first
    with pytest.raises(BadRequest, match="already the one in use"):
        new_from_image(RC, "a:1")
