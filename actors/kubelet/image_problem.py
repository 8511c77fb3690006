"""What a pod's missing image tells the user: its waiting reason and a message that says what to do. Pure.

When the runtime cannot give a container its image, :func:`image_problem` turns the error into the
container's waiting reason (``ErrImageNeverPull`` or ``ErrImagePull``, as Kubernetes; the image
back-off then shows ``ImagePullBackOff``) and a message that names the image and, for an image
jetkube knows how to build (image_catalog.py), the command that builds it. The kubelet puts that
message in the pod's status and its Events (containers.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.kubelet.docker_errors import ImageNeverPull, ImagePullError
from actors.kubelet.image_catalog import build_command
from schemas.errors import DockerError


@dataclass(frozen=True)
class ImageProblem:
    reason: str  # the container's waiting reason: ErrImageNeverPull | ErrImagePull
    message: str  # what the pod's status and its Event say
    hint: str | None  # the command that makes the image, when jetkube knows one


def image_problem(image: str, error: DockerError) -> ImageProblem:
    """The waiting reason and message of a container whose image ``error`` kept from starting."""
    reason = "ErrImageNeverPull" if isinstance(error, ImageNeverPull) else "ErrImagePull"
    hint = build_command(image)
    message = error.message
    if hint:
        message += f". jetkube builds this image locally: run `{hint}`"
    elif not isinstance(error, ImagePullError | ImageNeverPull):
        message = f'Failed to pull image "{image}": {message}'
    return ImageProblem(reason, message, hint)
