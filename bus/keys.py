"""Keys of the state bucket: ``<resource>.<namespace>.<name>``, ``_`` for cluster-scoped kinds.

Names may contain dots (DNS-1123 subdomains), so a key is split on the first two dots only and
watches use ``<resource>.<namespace>.>``.
"""

from __future__ import annotations

CLUSTER = "_"


def object_key(resource: str, namespace: str | None, name: str) -> str:
    return f"{resource}.{namespace or CLUSTER}.{name}"


def parse_key(key: str) -> tuple[str, str | None, str]:
    resource, ns, name = key.split(".", 2)
    return resource, (None if ns == CLUSTER else ns), name


def filter_subject(prefix: str, resource: str, namespace: str | None = None, namespaced: bool = True) -> str:
    """The subject filter for every key of a resource, or of one namespace of it."""
    if namespace is not None and namespaced:
        return f"{prefix}{resource}.{namespace}.>"
    return f"{prefix}{resource}.>"
