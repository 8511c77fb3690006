"""The decisions of ``jetkube logs -l``: kubectl's default tail, the prefix, which containers, the
follow limit."""

from __future__ import annotations

import pytest

from cli.commands.logs import check_follow_limit, effective_tail, log_prefix, streams_of
from schemas.errors import BadRequest


def pod(name: str, containers: list[str], inits: list[str] = ()) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "containers": [{"name": c} for c in containers],
            "initContainers": [{"name": c} for c in inits],
        },
    }


def test_tail_defaults_to_ten_with_a_selector_only() -> None:
    assert effective_tail(None, "app=web") == 10
    assert effective_tail(None, None) == -1
    assert effective_tail(3, "app=web") == 3
    assert effective_tail(-1, "app=web") == -1


def test_prefix_as_kubectl() -> None:
    assert log_prefix(pod("web-1", ["c"]), "c") == "[pod/web-1/c] "


def test_which_containers() -> None:
    one, two = pod("a", ["c"]), pod("b", ["x", "y"], inits=["setup"])
    assert [(p["metadata"]["name"], c) for p, c in streams_of([one], None, False)] == [("a", "c")]
    assert [c for _, c in streams_of([two], None, True)] == ["setup", "x", "y"]
    assert [c for _, c in streams_of([two], "y", False)] == ["y"]
    with pytest.raises(BadRequest, match="a container name must be specified for pod b"):
        streams_of([two], None, False)


def test_follow_limit() -> None:
    check_follow_limit(5, True, 5)
    check_follow_limit(50, False, 5)  # without -f the streams are read one at a time
    with pytest.raises(
        BadRequest, match="attempting to follow 6 log streams, but maximum allowed concurrency is 5"
    ):
        check_follow_limit(6, True, 5)
