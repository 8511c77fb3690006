"""Kubernetes REST paths to what they name, and HTTP methods to api verbs (pure).

``/api/v1/namespaces/default/pods/web/log`` is ``Target(group="", version="v1",
namespace="default", resource=<pods>, name="web", subresource="log")``. A path that names no
served kind is NotFound, with kube-apiserver's message.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.errors import JetkubeError, MethodNotAllowed, NotFound
from schemas.registry import ResourceInfo, lookup

NOT_FOUND = "the server could not find the requested resource"


@dataclass(frozen=True)
class Target:
    info: ResourceInfo
    namespace: str | None
    name: str | None
    subresource: str | None


def _resource(group: str, version: str, plural: str) -> ResourceInfo:
    try:
        info = lookup(plural)
    except JetkubeError:
        raise NotFound(NOT_FOUND) from None
    gv = f"{group}/{version}" if group else version
    if info.plural != plural or gv not in info.served:
        raise NotFound(NOT_FOUND)
    return info


def parse(group: str, version: str, rest: list[str]) -> Target:
    """What the segments after ``/api/v1`` or ``/apis/<group>/<version>`` name."""
    parts = [p for p in rest if p != ""]
    if not parts:
        raise NotFound(NOT_FOUND)
    namespace = None
    # /namespaces/<ns>/<resource>... (but /namespaces/<name>[/status|finalize] is the namespace)
    if (
        parts[0] == "namespaces"
        and len(parts) >= 3
        and not (len(parts) == 3 and parts[2] in ("status", "finalize"))
    ):
        namespace, parts = parts[1], parts[2:]
    if len(parts) > 3:
        raise NotFound(NOT_FOUND)
    info = _resource(group, version, parts[0])
    if namespace is not None and not info.namespaced:
        raise NotFound(NOT_FOUND)
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    return Target(info, namespace, name, sub)


def verb_of(method: str, target: Target, watch: bool) -> str:
    """The Kubernetes verb of a request (what RBAC and the api see)."""
    collection = target.name is None
    if method in ("GET", "HEAD"):
        if watch:
            return "watch"
        return "list" if collection else "get"
    if method == "POST":
        return "create"
    if method == "PUT" and not collection:
        return "update"
    if method == "PATCH" and not collection:
        return "patch"
    if method == "DELETE":
        return "deletecollection" if collection else "delete"
    raise MethodNotAllowed(f"the server does not allow this method on the requested resource ({method})")
