"""``jetkube convert``'s choice of version and ``migrate-storage``'s progress bar (pure)."""

from __future__ import annotations

import pytest

from cli.commands.convert import convert_objects, target_version
from cli.commands.migrate import bar
from schemas.errors import BadRequest

DEPLOY = {
    "apiVersion": "extensions/v1beta1",
    "kind": "Deployment",
    "metadata": {"name": "d"},
    "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}},
}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}


@pytest.mark.parametrize(
    ("obj", "wanted", "expected"),
    [
        (DEPLOY, None, "apps/v1"),
        (DEPLOY, "apps/v1beta2", "apps/v1beta2"),
        (SERVICE, "apps/v1", "v1"),  # another group: left in its current version
    ],
)
def test_target_version(obj: dict, wanted: str | None, expected: str) -> None:
    assert target_version(obj, wanted) == expected


def test_a_version_of_the_same_group_that_lacks_the_kind_is_an_error() -> None:
    with pytest.raises(BadRequest, match='no matches for kind "Deployment" in version "apps/v9"'):
        target_version(DEPLOY, "apps/v9")


def test_converted_deployment_keeps_its_meaning_explicit() -> None:
    (out,) = convert_objects([DEPLOY], "apps/v1")
    assert out["apiVersion"] == "apps/v1"
    assert out["spec"]["selector"] == {"matchLabels": {"a": "b"}}
    assert out["spec"]["revisionHistoryLimit"] == 2**31 - 1
    assert DEPLOY["apiVersion"] == "extensions/v1beta1"  # the input is not changed


def test_progress_bar() -> None:
    assert bar(0, 4, "k", width=4) == "[....] 0/4  k"
    assert bar(2, 4, "k", width=4) == "[##..] 2/4  k"
    assert bar(4, 4, "k", width=4) == "[####] 4/4  k"
    assert bar(0, 0, "", width=2) == "[##] 0/0  "
