"""Resource arguments as kubectl reads them: ``pods``, ``po,svc``, ``pod/x``, ``all``, names.

Pure apart from :func:`lookup`, which asks ``schemas.registry`` (no I/O either), and
:func:`load_custom_kinds`, which reads the cluster's CRDs into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas import registry
from schemas.errors import BadRequest
from schemas.registry import ResourceInfo

# kubectl's "all" category, in kubectl's order.
ALL_CATEGORY: tuple[str, ...] = (
    "pods",
    "replicationcontrollers",
    "services",
    "daemonsets",
    "deployments",
    "replicasets",
    "statefulsets",
    "horizontalpodautoscalers",
    "cronjobs",
    "jobs",
)

TYPE_REQUIRED = (
    "You must specify the type of resource to get. "
    'Use "jetkube api-resources" for a complete list of supported resources.'
)


def lookup(name: str) -> ResourceInfo:
    return registry.lookup(name)


async def load_custom_kinds(api: Any) -> int:
    """Learn the cluster's CustomResourceDefinitions (their kinds and printer columns): a name
    this process does not know may be a custom kind. Always 0 (an exit code for ``run``)."""
    from schemas import crd

    for obj in (await api.list("customresourcedefinitions")).get("items") or []:
        try:
            crd.register(obj)
        except (KeyError, TypeError, ValueError):
            continue
    return 0


def all_resources() -> tuple[ResourceInfo, ...]:
    return registry.all_resources()


@dataclass
class Target:
    """One resource type and the names asked for (none: every object, filtered by selectors)."""

    info: ResourceInfo
    names: list[str] = field(default_factory=list)


def parse_targets(args: Sequence[str], *, allow_all: bool = True) -> list[Target]:
    """``["pods,svc", "a", "b"]``, ``["pod/a", "svc/b"]`` or ``["all"]`` as a list of targets."""
    if not args:
        raise BadRequest(TYPE_REQUIRED)
    if any("/" in a for a in args):
        targets: list[Target] = []
        for arg in args:
            kind, sep, name = arg.partition("/")
            if not sep or not kind or not name:
                raise BadRequest(
                    f"there is no need to specify a resource type as a separate argument when passing "
                    f"arguments in resource/name form (e.g. 'jetkube get resource/<resource_name>' "
                    f"instead of 'jetkube get resource resource/<resource_name>'): {arg}"
                )
            info = lookup(kind)
            found = next((t for t in targets if t.info.plural == info.plural), None)
            if found is None:
                targets.append(Target(info, [name]))
            else:
                found.names.append(name)
        return targets
    types, names = args[0], list(args[1:])
    targets = []
    for word in (t for t in types.split(",") if t):
        plurals = ALL_CATEGORY if word == "all" and allow_all else (lookup(word).plural,)
        for plural in plurals:
            if not any(t.info.plural == plural for t in targets):
                targets.append(Target(lookup(plural), list(names)))
    if not targets:
        raise BadRequest(TYPE_REQUIRED)
    return targets


def object_namespace(
    info: ResourceInfo, obj: dict[str, Any], namespace_flag: str | None, default: str
) -> str | None:
    """The namespace a manifest's object goes to; kubectl's error when -n contradicts the file."""
    if not info.namespaced:
        return None
    in_file = (obj.get("metadata") or {}).get("namespace")
    if in_file and namespace_flag and in_file != namespace_flag:
        raise BadRequest(
            f'the namespace from the provided object "{in_file}" does not match the namespace '
            f"\"{namespace_flag}\". You must pass '--namespace={in_file}' to perform this operation."
        )
    return in_file or namespace_flag or default


def qualified_kind(info: ResourceInfo) -> str:
    """``pod``, ``deployment.apps``: kubectl's name for a kind in its messages."""
    return info.kind.lower() + (f".{info.group}" if info.group else "")


def display_resource(info: ResourceInfo) -> str:
    """``pods``, ``deployments.apps``: kubectl's name for a resource in ``not found`` errors."""
    return info.plural + (f".{info.group}" if info.group else "")
