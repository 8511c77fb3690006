"""rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding.

The shapes are Kubernetes'; the rules are evaluated by actors/api/authz/rbac.py. Required fields
whose absence Kubernetes reports in its own words (``roleRef.name: Required value``) are optional
here and checked in schemas/validation/rbac.py.
"""

from __future__ import annotations

from pydantic import Field

from schemas.models.base import K8sModel
from schemas.models.meta import LabelSelector, ObjectMeta


class PolicyRule(K8sModel):
    verbs: list[str] | None = None
    api_groups: list[str] | None = None
    resources: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_urls: list[str] | None = Field(default=None, alias="nonResourceURLs")


class AggregationRule(K8sModel):
    cluster_role_selectors: list[LabelSelector] | None = None


class Role(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    rules: list[PolicyRule] | None = None


class ClusterRole(Role):
    aggregation_rule: AggregationRule | None = None


class Subject(K8sModel):
    kind: str | None = None
    api_group: str | None = None
    name: str | None = None
    namespace: str | None = None


class RoleRef(K8sModel):
    api_group: str | None = None
    kind: str | None = None
    name: str | None = None


class RoleBinding(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    subjects: list[Subject] | None = None
    role_ref: RoleRef | None = None


class ClusterRoleBinding(RoleBinding):
    pass
