"""RBAC evaluation, as Kubernetes' RBAC authorizer does it: pure functions, no I/O.

A request is :class:`Attributes` (verb, api group, resource, subresource, namespace, name). It is
allowed when some binding names the user (``User``), one of its groups (``Group``) or its service
account, and the role the binding refers to has a rule matching the request. A RoleBinding grants
only inside its namespace (its roleRef may be a ClusterRole, whose rules then apply to that
namespace); a ClusterRoleBinding grants everywhere. Members of ``system:masters`` are allowed
everything without rules, as in Kubernetes. There is no deny: an unmatched request is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bus.auth import UserInfo

Obj = dict[str, Any]


@dataclass(frozen=True)
class Attributes:
    verb: str
    resource: str
    api_group: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def shown_resource(self) -> str:
        """As Kubernetes' Forbidden message names it: ``pods``, ``deployments.apps``, ``pods/status``."""
        base = f"{self.resource}.{self.api_group}" if self.api_group else self.resource
        return f"{base}/{self.subresource}" if self.subresource else base


def _has(values: Iterable[str] | None, wanted: str) -> bool:
    values = list(values or [])
    return "*" in values or wanted in values


def rule_allows(rule: Obj, attrs: Attributes) -> bool:
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not _has(rule.get("apiGroups"), attrs.api_group):
        return False
    resources = list(rule.get("resources") or [])
    wanted = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    if not (
        "*" in resources
        or wanted in resources
        or (attrs.subresource and f"*/{attrs.subresource}" in resources)
        or (attrs.subresource and f"{attrs.resource}/*" in resources)
    ):
        return False
    names = rule.get("resourceNames")
    return not names or attrs.name in names


def subject_matches(subject: Obj, user: UserInfo, binding_ns: str | None) -> bool:
    kind = subject.get("kind")
    name = subject.get("name")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return user.name == f"system:serviceaccount:{ns}:{name}"
    return False


@dataclass(frozen=True)
class Policy:
    """The RBAC objects in force, keyed as the api's mirrors key them (``ns/name`` or ``name``)."""

    roles: dict[str, Obj]
    cluster_roles: dict[str, Obj]
    role_bindings: dict[str, Obj]
    cluster_role_bindings: dict[str, Obj]

    def rules_of(self, ref: Obj, binding_ns: str | None) -> list[Obj]:
        if ref.get("kind") == "ClusterRole":
            role = self.cluster_roles.get(str(ref.get("name")))
        elif binding_ns:
            role = self.roles.get(f"{binding_ns}/{ref.get('name')}")
        else:
            role = None
        return list((role or {}).get("rules") or [])


def authorize(user: UserInfo, attrs: Attributes, policy: Policy) -> tuple[bool, str]:
    """(allowed, reason): the first binding whose role allows the request, or a refusal."""
    if user.is_master:
        return True, "member of system:masters"
    for binding in policy.cluster_role_bindings.values():
        if any(subject_matches(s, user, None) for s in binding.get("subjects") or []):
            for rule in policy.rules_of(binding.get("roleRef") or {}, None):
                if rule_allows(rule, attrs):
                    name = binding["metadata"]["name"]
                    return True, f'allowed by ClusterRoleBinding "{name}"'
    if attrs.namespace:
        for binding in policy.role_bindings.values():
            meta = binding.get("metadata") or {}
            if meta.get("namespace") != attrs.namespace:
                continue
            if any(subject_matches(s, user, attrs.namespace) for s in binding.get("subjects") or []):
                for rule in policy.rules_of(binding.get("roleRef") or {}, attrs.namespace):
                    if rule_allows(rule, attrs):
                        return True, f'allowed by RoleBinding "{meta.get("name")}/{attrs.namespace}"'
    return False, ""


def forbidden_message(user: UserInfo, attrs: Attributes) -> str:
    """Kubernetes' wording: ``pods is forbidden: User "bob" cannot list resource "pods" in API group
    "" in the namespace "default"``."""
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    what = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    subres = f"/{attrs.subresource}" if attrs.subresource else ""
    where = f' in the namespace "{attrs.namespace}"' if attrs.namespace else " at the cluster scope"
    return (
        f'{what} is forbidden: User "{user.name}" cannot {attrs.verb} resource '
        f'"{attrs.resource}{subres}" in API group "{attrs.api_group}"{where}'
    )
