"""Downward API field references (env ``fieldRef`` and downwardAPI volume items)."""

from __future__ import annotations

import re
from typing import Any

from schemas import names
from schemas.errors import FieldError
from schemas.validation.errors import invalid, required, unsupported

ENV_FIELD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
VOLUME_FIELD_PATHS = (
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
)
_SUBSCRIPTED = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


def field_ref_errors(ref: dict[str, Any], path: str, allowed: tuple[str, ...], out: list[FieldError]) -> None:
    fp = ref.get("fieldPath", "")
    api = ref.get("apiVersion")
    if api and api != "v1":
        out.append(unsupported(f"{path}.apiVersion", api, ["v1"]))
    if not fp:
        out.append(required(f"{path}.fieldPath"))
        return
    m = _SUBSCRIPTED.match(fp)
    if m:
        for msg in names.qualified_name_errors(m.group(2)):
            out.append(invalid(f"{path}.fieldPath", fp, msg))
        return
    if fp not in allowed:
        out.append(unsupported(f"{path}.fieldPath", fp, allowed))
