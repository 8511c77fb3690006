"""The kubelet's own infra (pause) image: made on the engine when it is missing, in about a second.

A real kubelet pulls its sandbox image; these machines have no registry, so the kubelet carries
the image instead: pause_elf.py writes out a 213-byte static x86-64 executable (no libc, gcc or
busybox needed) and its ``FROM scratch`` build context (a gzip'd tar in memory), and
:func:`ensure_pause_image` sends that to the engine's build API when the image is not there.
``jetkube images build pause`` makes the same image (cli/images/), labelled with the same recipe
hash, so each sees the other's as current. Hosts other than amd64 get a clear error naming
``jetkube images build pause`` (which compiles cli/images/src/pause.c with gcc).

Lifecycle: one call per runtime before its first sandbox (``DockerRuntime.create_sandbox``); the
check is one ``images.inspect``. Concurrent calls on one engine are harmless (same content, the
tag moves to an identical image).
"""

from __future__ import annotations

import io
import platform
import time

import aiodocker
import structlog

from actors.kubelet.docker_errors import translate
from actors.kubelet.pause_elf import LABEL, build_context, recipe_hash, supported
from schemas.errors import DockerError

log = structlog.get_logger(__name__)


async def ensure_pause_image(docker: aiodocker.Docker, ref: str, engine: str = "the Docker engine") -> bool:
    """Make ``ref`` on the engine unless it has it; True when it was built now.

    DockerError (with what to do) when the engine refuses the build or the host is not amd64."""
    try:
        await docker.images.inspect(ref)
        return False
    except aiodocker.DockerError as exc:
        if exc.status != 404:
            raise translate(exc, f"inspect the infra image {ref}", engine) from exc
    if not supported():
        raise DockerError(
            f"the infra image {ref} is missing and the kubelet can only make it on amd64 "
            f"(this host is {platform.machine()}): run `jetkube images build pause`"
        )
    t0 = time.monotonic()
    try:
        await docker.images.build(
            fileobj=io.BytesIO(build_context()),
            encoding="gzip",
            tag=ref,
            labels={LABEL: recipe_hash()},
            rm=True,
        )
    except aiodocker.DockerError as exc:
        raise translate(exc, f"build the infra image {ref}", engine) from exc
    log.info("kubelet.pause_image_built", image=ref, seconds=round(time.monotonic() - t0, 3))
    return True
