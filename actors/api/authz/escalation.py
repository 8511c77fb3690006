"""Escalation checks that need the object a write produces: RBAC's escalate/bind rule and the
NodeRestriction rules on a kubelet's own Node. Pure decisions, plus the request's user.

Kubernetes' rules, as its RBAC storage and NodeRestriction admission apply them:

* a Role or ClusterRole may be created or changed only by someone who holds every permission it
  grants (in its namespace; a ClusterRole cluster-wide), or who may ``escalate`` it;
* a RoleBinding or ClusterRoleBinding may be created or changed only by someone who may ``bind``
  the role it refers to, or who holds every permission of that role where the binding grants it;
* a kubelet may not set or change its Node's labels under ``node-restriction.kubernetes.io/``, nor
  change ``kubernetes.io/hostname``, nor change its taints once registered.

The checks run as the api's create and update hooks (actors/api/handlers.py), so they see the
object a create, update or patch of any type would store. The hooks learn who asks from
:data:`REQUESTER`, which the gate sets around each user request; the control plane's trusted
requests leave it unset and are not checked.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from actors.api.authz.rbac import Attributes, Policy, authorize
from bus.auth import UserInfo

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
RESTRICTED_LABEL_PREFIX = "node-restriction.kubernetes.io/"
HOSTNAME_LABEL = "kubernetes.io/hostname"
MAX_EXPANDED = 20_000  # the attribute combinations one role may expand to before it is refused

#: The user of the request being served (set by the gate; None for the control plane's own).
REQUESTER: ContextVar[UserInfo | None] = ContextVar("jetkube_api_requester", default=None)

Allows = Callable[[Attributes], bool]


def rule_attributes(rule: Obj, namespace: str) -> Iterator[Attributes]:
    """Every request a rule grants, as attributes (``*`` stays ``*``: to grant it, hold it)."""
    names = list(rule.get("resourceNames") or []) or [""]
    groups = list(rule.get("apiGroups") or [])
    resources = list(rule.get("resources") or [])
    for verb, group, resource, name in itertools.product(rule.get("verbs") or [], groups, resources, names):
        base, _, sub = str(resource).partition("/")
        yield Attributes(str(verb), base, str(group), sub, namespace, str(name))
    for verb, url in itertools.product(rule.get("verbs") or [], rule.get("nonResourceURLs") or []):
        yield Attributes(str(verb), f"nonResourceURL:{url}", "", "", "", "")


def first_not_held(rules: list[Obj], namespace: str, allows: Allows) -> Attributes | str | None:
    """The first permission of ``rules`` that ``allows`` refuses (or a reason), None when all held."""
    count = 0
    for rule in rules:
        if not isinstance(rule, dict):
            return "a rule is not an object"
        for attrs in rule_attributes(rule, namespace):
            count += 1
            if count > MAX_EXPANDED:
                return f"the rules expand to more than {MAX_EXPANDED} permissions"
            if not allows(attrs):
                return attrs
    return None


def _shown(missing: Attributes | str) -> str:
    if isinstance(missing, str):
        return missing
    res = missing.shown_resource
    name = f' named "{missing.name}"' if missing.name else ""
    return f"{missing.verb} on {res}{name}"


def role_refusal(plural: str, obj: Obj, allows: Allows) -> str | None:
    """Why this Role/ClusterRole may not be written by the user ``allows`` speaks for, or None."""
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "") if plural == "roles" else ""
    escalate = Attributes("escalate", plural, RBAC_GROUP, "", namespace, str(meta.get("name") or ""))
    if allows(escalate):
        return None
    missing = first_not_held(list(obj.get("rules") or []), namespace, allows)
    if missing is None:
        return None
    return (
        f'{plural} "{meta.get("name")}" is forbidden: attempting to grant RBAC permissions not currently '
        f"held ({_shown(missing)}); escalating needs the escalate verb on {plural}.{RBAC_GROUP}"
    )


def binding_refusal(plural: str, obj: Obj, policy: Policy, allows: Allows) -> str | None:
    """Why this RoleBinding/ClusterRoleBinding may not be written, or None."""
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "") if plural == "rolebindings" else ""
    ref = obj.get("roleRef") or {}
    ref_kind = ref.get("kind")
    ref_plural = "clusterroles" if ref_kind == "ClusterRole" else "roles"
    if allows(Attributes("bind", ref_plural, RBAC_GROUP, "", namespace, str(ref.get("name") or ""))):
        return None
    exists = (
        str(ref.get("name")) in policy.cluster_roles
        if ref_plural == "clusterroles"
        else f"{namespace}/{ref.get('name')}" in policy.roles
    )
    missing = (
        first_not_held(policy.rules_of(ref, namespace or None), namespace, allows)
        if exists
        else f'{ref_kind} "{ref.get("name")}" not found'
    )
    if missing is None:
        return None
    return (
        f'{plural} "{meta.get("name")}" is forbidden: user may not bind {ref_kind} "{ref.get("name")}" '
        f"({_shown(missing)} not held); binding it needs the bind verb on {ref_plural}.{RBAC_GROUP}"
    )


def _labels(obj: Obj | None) -> dict[str, Any]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


def node_restriction_refusal(node: str, new: Obj, old: Obj | None) -> str | None:
    """NodeRestriction on a kubelet's own Node: the labels it may not set, its taints, its podCIDRs."""
    labels, before = _labels(new), _labels(old)
    for key in sorted(set(labels) | set(before)):
        restricted = key.startswith(RESTRICTED_LABEL_PREFIX) or (key == HOSTNAME_LABEL and old is not None)
        if restricted and labels.get(key) != before.get(key):
            return f"node {node!r} is not allowed to modify label {key!r} (NodeRestriction)"
    if old is not None and (new.get("spec") or {}).get("taints") != (old.get("spec") or {}).get("taints"):
        return f"node {node!r} is not allowed to modify taints (NodeRestriction)"
    if old is not None and _pod_cidrs(new) != _pod_cidrs(old):  # the control plane's node IPAM sets them
        return f"node {node!r} is not allowed to modify podCIDRs (NodeRestriction)"
    return None


def _pod_cidrs(node: Obj) -> tuple[object, object]:
    spec = node.get("spec") or {}
    return spec.get("podCIDR"), spec.get("podCIDRs")


def admission_refusal(user: UserInfo, plural: str, new: Obj, old: Obj | None, policy: Policy) -> str | None:
    """Why ``user`` may not store ``new`` (over ``old``), or None. Masters are never refused."""
    if user.is_master:
        return None

    def allows(attrs: Attributes) -> bool:
        return authorize(user, attrs, policy)[0]

    if plural in ("roles", "clusterroles"):
        if old is not None and (new.get("rules") or []) == (old.get("rules") or []):
            return None
        return role_refusal(plural, new, allows)
    if plural in ("rolebindings", "clusterrolebindings"):
        if (
            old is not None
            and new.get("roleRef") == old.get("roleRef")
            and new.get("subjects") == old.get("subjects")
        ):
            return None
        return binding_refusal(plural, new, policy, allows)
    if plural == "nodes" and user.node:
        return node_restriction_refusal(user.node, new, old)
    return None
