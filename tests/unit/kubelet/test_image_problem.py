"""A pod's missing image: waiting reason, message and the command that builds it (a table)."""

from __future__ import annotations

import pytest

from actors.kubelet.docker_errors import ImageNeverPull, ImagePullError
from actors.kubelet.image_catalog import BUILDABLE, normalize, recipe_for
from actors.kubelet.image_problem import image_problem
from schemas.errors import DockerError


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("busybox", "busybox"),
        ("busybox:latest", "busybox"),
        ("docker.io/library/busybox", "busybox"),
        ("gcr.io/google_containers/busybox", "busybox"),
        ("perl", "perl"),
        ("nginx:latest", "nginx"),
        ("gcr.io/google_containers/liveness", "liveness"),
        ("gcr.io/google_containers/proxy-to-service:v2", "proxy"),
        ("jetkube/pause:latest", "pause"),
        ("nginx:1.25", None),
        ("redis", None),
        ("busybox@sha256:" + "0" * 64, None),
    ],
)
def test_recipe_for(image: str, name: str | None) -> None:
    assert recipe_for(image) == name


def test_every_tag_normalizes_to_itself_or_its_latest_form() -> None:
    for tags in BUILDABLE.values():
        for tag in tags:
            assert normalize(tag) in (tag, f"{tag}:latest")


ENGINE = "Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker.io: no such host"


@pytest.mark.parametrize(
    ("image", "error", "reason", "message", "hint"),
    [
        (
            "busybox",
            ImageNeverPull("busybox"),
            "ErrImageNeverPull",
            'Container image "busybox" is not present with pull policy of Never. '
            "jetkube builds this image locally: run `jetkube images build busybox`",
            "jetkube images build busybox",
        ),
        (
            "perl",
            ImagePullError("perl", ENGINE),
            "ErrImagePull",
            f'Failed to pull image "perl": {ENGINE}. '
            "jetkube builds this image locally: run `jetkube images build perl`",
            "jetkube images build perl",
        ),
        (
            "redis:7",
            ImagePullError("redis:7", ENGINE),
            "ErrImagePull",
            f'Failed to pull image "redis:7": {ENGINE}',
            None,
        ),
        (
            "redis:7",
            DockerError("engine said no"),
            "ErrImagePull",
            'Failed to pull image "redis:7": engine said no',
            None,
        ),
    ],
)
def test_image_problem(image: str, error: DockerError, reason: str, message: str, hint: str | None) -> None:
    got = image_problem(image, error)
    assert (got.reason, got.message, got.hint) == (reason, message, hint)
