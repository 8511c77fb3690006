"""Translate aiodocker/aiohttp failures into jetkube's error hierarchy, at the runtime's edge.

- the engine cannot be reached (socket missing, connection refused or cut, aiodocker's status
  900) -> ``ServiceUnavailable("Docker engine at URL is unreachable: ...")`` (temporary: retry
  with backoff);
- 404 -> ``NotFound``; 409 on create -> ``AlreadyExists`` (a container of that name exists: adopt it);
- a failed pull -> :class:`ImagePullError` (ErrImagePull), carrying the engine's message;
- anything else -> ``DockerError`` with the engine's message. ``details["status"]`` keeps the
  engine's HTTP status.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import aiodocker
import aiohttp

from schemas.errors import AlreadyExists, DockerError, JetkubeError, NotFound, ServiceUnavailable, Timeout

UNREACHABLE_STATUS = 900  # aiodocker's status for "Cannot connect to Docker Engine"


class ImagePullError(DockerError):
    """The engine could not pull an image (the pod's ErrImagePull, then ImagePullBackOff)."""

    def __init__(self, image: str, engine_message: str) -> None:
        super().__init__(
            f'Failed to pull image "{image}": {engine_message}',
            details={"image": image, "engineMessage": engine_message},
        )
        self.image = image
        self.engine_message = engine_message


class ImageNeverPull(DockerError):
    """imagePullPolicy Never and the image is not on the engine (the pod's ErrImageNeverPull)."""

    def __init__(self, image: str) -> None:
        super().__init__(
            f'Container image "{image}" is not present with pull policy of Never', details={"image": image}
        )
        self.image = image


def unreachable(engine: str, why: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"Docker engine at {engine} is unreachable: {why}. Is the engine running, and is --docker-host right?"
    )


def translate(exc: BaseException, what: str, engine: str, *, on_create: bool = False) -> JetkubeError:
    if isinstance(exc, JetkubeError):
        return exc
    if isinstance(exc, aiodocker.DockerError):
        status, message = exc.status, str(exc.message)
        if status == UNREACHABLE_STATUS:
            return unreachable(engine, message)
        details = {"status": status, "engineMessage": message}
        if status == 404:
            return NotFound(f"{what}: {message}", details=details)
        if status == 409 and on_create:
            return AlreadyExists(f"{what}: {message}", details=details)
        return DockerError(f"{what}: {message}", details=details)
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError | ConnectionError):
        return unreachable(engine, str(exc) or type(exc).__name__)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return Timeout(f"{what}: the Docker engine at {engine} did not answer in time")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return unreachable(engine, str(exc) or type(exc).__name__)
    return DockerError(f"{what}: {exc}")


@contextlib.contextmanager
def docker_errors(what: str, engine: str, *, on_create: bool = False) -> Iterator[None]:
    """``with docker_errors("start container x", url): await ...`` re-raises translated."""
    try:
        yield
    except (TimeoutError, aiodocker.DockerError, aiohttp.ClientError, OSError) as exc:
        raise translate(exc, what, engine, on_create=on_create) from exc
