"""Namespace lifecycle admission (Kubernetes' ``NamespaceLifecycle`` plugin), pure.

The api actor calls :func:`check_delete_namespace` before deleting a namespace and
:func:`check_create_in_namespace` before creating any namespaced object.
"""

from __future__ import annotations

from typing import Any

from schemas.errors import Forbidden, NotFound

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


def check_delete_namespace(name: str) -> None:
    """Raises Forbidden for the namespaces the system needs."""
    if name in IMMORTAL_NAMESPACES:
        raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted')


def check_create_in_namespace(
    namespace: dict[str, Any] | None, resource: str, name: str, ns_name: str
) -> None:
    """Refuses creation in a namespace that does not exist or is being terminated.

    ``namespace`` is the Namespace object (None if absent), ``resource`` the plural being created.
    """
    if namespace is None:
        raise NotFound(f'namespaces "{ns_name}" not found')
    meta = namespace.get("metadata") or {}
    terminating = (
        meta.get("deletionTimestamp") or (namespace.get("status") or {}).get("phase") == "Terminating"
    )
    if terminating:
        raise Forbidden(
            f'{resource} "{name}" is forbidden: unable to create new content in namespace {ns_name} '
            "because it is being terminated"
        )
