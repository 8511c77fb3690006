"""The images jetkube knows how to build, by the tags they carry. Pure, standard library only.

These machines have no registry: the seed's examples name images (``busybox``,
``gcr.io/google_containers/busybox``, ``perl``, ``nginx`` ...) that ``jetkube images build NAME``
makes on the local engine (recipes in cli/images/build.py, which takes its tags from
:data:`BUILDABLE`). The kubelet names the command when a pod's image is missing
(image_problem.py).
"""

from __future__ import annotations

#: recipe name -> the tags it makes (the first is the one ``--list`` shows).
BUILDABLE: dict[str, tuple[str, ...]] = {
    "busybox": (
        "busybox:latest",
        "busybox",
        "gcr.io/google_containers/busybox:latest",
        "gcr.io/google_containers/busybox",
    ),
    "pause": (
        "jetkube/pause:latest",
        "kubernetes/pause:latest",
        "kubernetes/pause",
        "gcr.io/google_containers/pause:2.0",
    ),
    "liveness": ("gcr.io/google_containers/liveness:latest", "gcr.io/google_containers/liveness"),
    "proxy": ("gcr.io/google_containers/proxy-to-service:v2",),
    "debian": ("jetkube/debian:bookworm",),
    "perl": ("perl:latest", "perl"),
    "nginx": ("nginx:latest", "nginx"),
}


def normalize(ref: str) -> str:
    """``ref`` as the engine names it: no ``docker.io/`` or ``library/``, ``:latest`` when untagged."""
    ref = ref.strip()
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if ref.startswith(prefix):
            ref = ref.removeprefix(prefix)
            break
    ref = ref.removeprefix("library/")
    if "@" not in ref and ":" not in ref.rsplit("/", 1)[-1]:
        ref += ":latest"
    return ref


_BY_TAG = {normalize(tag): name for name, tags in BUILDABLE.items() for tag in tags}


def recipe_for(image: str) -> str | None:
    """The name of the recipe that makes ``image`` (``jetkube images build NAME``), or None."""
    return _BY_TAG.get(normalize(image))


def build_command(image: str) -> str | None:
    name = recipe_for(image)
    return f"jetkube images build {name}" if name else None
