"""Docker container names for pods' containers: readable, valid for the engine, and unique.

``jk_<node>_<namespace>_<pod>_<container>_<uid8>_<attempt>``; the sandbox's container name is
``POD``. The first 8 characters of the pod's uid keep a pod deleted and recreated with the same
name from colliding with the old one's dead containers; the attempt keeps restarts apart. Docker
allows ``[a-zA-Z0-9][a-zA-Z0-9_.-]*``; anything else becomes ``-``, and ``_`` inside a part
becomes ``-`` too, so the separators stay unambiguous.
"""

from __future__ import annotations

import re

_INVALID = re.compile(r"[^a-zA-Z0-9.-]")


def sanitize(part: str) -> str:
    cleaned = _INVALID.sub("-", part)
    return cleaned or "-"


def container_name(node: str, namespace: str, pod: str, container: str, pod_uid: str, attempt: int) -> str:
    uid8 = sanitize(pod_uid.replace("-", ""))[:8]
    parts = [node, namespace, pod, container, uid8, str(attempt)]
    return "jk_" + "_".join(sanitize(p) for p in parts)


def parse_container_name(name: str) -> dict[str, str] | None:
    """The parts of a name made by :func:`container_name` (``/`` prefix allowed), else None."""
    bits = name.lstrip("/").split("_")
    if len(bits) != 7 or bits[0] != "jk":
        return None
    keys = ("node", "namespace", "pod", "container", "uid8", "attempt")
    return dict(zip(keys, bits[1:], strict=True))
