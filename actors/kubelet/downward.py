"""The downward API: pod fields as env values and as files. No I/O.

``fieldRef`` paths Kubernetes supports: metadata.name, metadata.namespace, metadata.uid,
metadata.labels, metadata.annotations (as files only), ``metadata.labels['k']``,
``metadata.annotations['k']``, spec.nodeName, spec.serviceAccountName, status.podIP,
status.podIPs, status.hostIP. Labels and annotations as a file are Kubernetes' format: one
``key="value"`` line per entry, sorted by key, the value quoted as Go's ``%q`` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from schemas.errors import BadRequest

_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


def format_map(values: Mapping[str, str]) -> str:
    """``key="value"`` lines sorted by key (no trailing newline), as the kubelet writes them."""
    return "\n".join(f"{k}={json.dumps(str(v), ensure_ascii=False)}" for k, v in sorted(values.items()))


def field_ref_value(pod: Mapping[str, Any], path: str) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    m = _SUBSCRIPT.match(path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple: dict[str, Any] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName") or spec.get("serviceAccount"),
        "status.podIP": status.get("podIP"),
        "status.hostIP": status.get("hostIP"),
    }
    if path in simple:
        return str(simple[path] or "")
    if path == "status.podIPs":
        return ",".join(str(p.get("ip")) for p in status.get("podIPs") or [])
    if path in ("metadata.labels", "metadata.annotations"):
        return format_map(meta.get(path.split(".")[1]) or {})
    raise BadRequest(f'fieldRef: unsupported fieldPath "{path}"')
