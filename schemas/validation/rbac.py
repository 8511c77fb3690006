"""Validation of rbac.authorization.k8s.io/v1 objects, in the Kubernetes api-server's words."""

from __future__ import annotations

from typing import Any

from schemas.errors import FieldError

SUBJECT_KINDS = ("User", "Group", "ServiceAccount")


def _rules_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    for i, rule in enumerate(obj.get("rules") or []):
        path = f"rules[{i}]"
        if not rule.get("verbs"):
            out.append(FieldError(f"{path}.verbs", "Required value: verbs must contain at least one value"))
        if rule.get("nonResourceURLs") and rule.get("resources"):
            out.append(
                FieldError(
                    f"{path}.nonResourceURLs",
                    "Invalid value: rules cannot apply to both regular resources and non-resource URLs",
                )
            )
        elif not rule.get("nonResourceURLs"):
            if not rule.get("resources"):
                out.append(
                    FieldError(
                        f"{path}.resources",
                        "Required value: resource rules must supply at least one resource",
                    )
                )
            if rule.get("apiGroups") is None:
                out.append(
                    FieldError(
                        f"{path}.apiGroups",
                        "Required value: resource rules must supply at least one api group",
                    )
                )


def role_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _rules_errors(obj, out)


def _binding_errors(obj: dict[str, Any], out: list[FieldError], *, cluster: bool) -> None:
    ref = obj.get("roleRef") or {}
    if not ref:
        out.append(FieldError("roleRef", "Required value"))
    else:
        allowed = ("ClusterRole",) if cluster else ("Role", "ClusterRole")
        if ref.get("kind") not in allowed:
            shown = ", ".join(f'"{k}"' for k in allowed)
            out.append(
                FieldError(
                    "roleRef.kind", f'Unsupported value: "{ref.get("kind")}": supported values: {shown}'
                )
            )
        if ref.get("apiGroup") not in (None, "rbac.authorization.k8s.io"):
            out.append(
                FieldError(
                    "roleRef.apiGroup",
                    f'Unsupported value: "{ref.get("apiGroup")}": '
                    'supported values: "rbac.authorization.k8s.io"',
                )
            )
        if not ref.get("name"):
            out.append(FieldError("roleRef.name", "Required value"))
    for i, subject in enumerate(obj.get("subjects") or []):
        path = f"subjects[{i}]"
        if not subject.get("name"):
            out.append(FieldError(f"{path}.name", "Required value"))
        if subject.get("kind") not in SUBJECT_KINDS:
            out.append(
                FieldError(
                    f"{path}.kind",
                    f'Unsupported value: "{subject.get("kind")}": '
                    'supported values: "Group", "ServiceAccount", "User"',
                )
            )
        elif subject.get("kind") == "ServiceAccount" and cluster and not subject.get("namespace"):
            out.append(FieldError(f"{path}.namespace", "Required value"))


def role_binding_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _binding_errors(obj, out, cluster=False)


def cluster_role_binding_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _binding_errors(obj, out, cluster=True)
