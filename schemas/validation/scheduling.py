"""Scheduling rules: node selector terms, node and pod affinity, tolerations."""

from __future__ import annotations

from typing import Any

from schemas import names
from schemas.errors import FieldError
from schemas.validation.errors import forbidden, invalid, required, unsupported

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
NODE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def node_selector_term_errors(term: dict[str, Any], path: str, out: list[FieldError]) -> None:
    for key in ("matchExpressions", "matchFields"):
        for i, req in enumerate(term.get(key) or ()):
            rp = f"{path}.{key}[{i}]"
            op = req["operator"]
            values = req.get("values") or []
            if op not in NODE_OPERATORS:
                out.append(unsupported(f"{rp}.operator", op, NODE_OPERATORS))
            elif op in ("In", "NotIn") and not values:
                out.append(required(f"{rp}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
            elif op in ("Exists", "DoesNotExist") and values:
                out.append(
                    forbidden(
                        f"{rp}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                    )
                )
            elif op in ("Gt", "Lt"):
                if len(values) != 1 or not values[0].lstrip("-").isdigit():
                    out.append(
                        required(
                            f"{rp}.values", "must be specified single value when `operator` is 'Lt' or 'Gt'"
                        )
                    )
            if key == "matchExpressions":
                for msg in names.qualified_name_errors(req["key"]):
                    out.append(invalid(f"{rp}.key", req["key"], msg))


def affinity_errors(aff: dict[str, Any], path: str, out: list[FieldError]) -> None:
    na = aff.get("nodeAffinity")
    if na:
        req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
        if req is not None:
            rp = f"{path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
            terms = req["nodeSelectorTerms"]
            if not terms:
                out.append(required(f"{rp}.nodeSelectorTerms", "must have at least one node selector term"))
            for i, term in enumerate(terms):
                node_selector_term_errors(term, f"{rp}.nodeSelectorTerms[{i}]", out)
        for i, pref in enumerate(na.get("preferredDuringSchedulingIgnoredDuringExecution") or ()):
            pp = f"{path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            if not 1 <= pref["weight"] <= 100:
                out.append(invalid(f"{pp}.weight", pref["weight"], "must be in the range 1-100"))
            node_selector_term_errors(pref["preference"], f"{pp}.preference", out)
    for key in ("podAffinity", "podAntiAffinity"):
        pa = aff.get(key)
        if not pa:
            continue
        for i, term in enumerate(pa.get("requiredDuringSchedulingIgnoredDuringExecution") or ()):
            if not term["topologyKey"]:
                out.append(
                    required(
                        f"{path}.{key}.requiredDuringSchedulingIgnoredDuringExecution[{i}].topologyKey",
                        "can not be empty",
                    )
                )
        for i, w in enumerate(pa.get("preferredDuringSchedulingIgnoredDuringExecution") or ()):
            wp = f"{path}.{key}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            if not 1 <= w["weight"] <= 100:
                out.append(invalid(f"{wp}.weight", w["weight"], "must be in the range 1-100"))
            if not w["podAffinityTerm"]["topologyKey"]:
                out.append(required(f"{wp}.podAffinityTerm.topologyKey", "can not be empty"))


def tolerations_errors(tols: list[dict[str, Any]], path: str, out: list[FieldError]) -> None:
    for i, t in enumerate(tols):
        tp = f"{path}[{i}]"
        key = t.get("key")
        op = t.get("operator") or "Equal"
        if key:
            for msg in names.qualified_name_errors(key):
                out.append(invalid(f"{tp}.key", key, msg))
        elif op != "Exists":
            out.append(
                invalid(
                    f"{tp}.operator",
                    op,
                    "operator must be Exists when `key` is empty, "
                    'which means "match all values and all keys"',
                )
            )
        if op == "Exists" and t.get("value"):
            out.append(
                invalid(f"{tp}.operator", t.get("value"), "value must be empty when `operator` is 'Exists'")
            )
        elif op not in ("Equal", "Exists"):
            out.append(unsupported(f"{tp}.operator", op, ["Equal", "Exists"]))
        effect = t.get("effect")
        if effect and effect not in TAINT_EFFECTS:
            out.append(unsupported(f"{tp}.effect", effect, TAINT_EFFECTS))
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            out.append(
                invalid(
                    f"{tp}.effect", effect or "", "effect must be 'NoExecute' when `tolerationSeconds` is set"
                )
            )
