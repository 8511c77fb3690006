"""Container resources and securityContext onto Docker's HostConfig, as the kubelet does.

- ``limits.cpu``      -> ``NanoCpus`` (cores * 1e9; Docker's CFS quota)
- ``limits.memory``   -> ``Memory`` and ``MemorySwap`` (the same: no swap beyond the limit)
- ``requests.cpu``    -> ``CpuShares`` = milliCPU * 1024 / 1000, at least 2 (the kubelet's
  ``MilliCPUToShares``); with no request the limit stands in (the api defaults request to limit);
  with neither, 2, as the kubelet gives BestEffort pods.
- ``requests.memory`` has no Docker equivalent (it only matters to the scheduler).

Quantities are parsed by a small local parser (``parse_quantity``): ``schemas.quantity`` did not
exist when this was written; switch to it once it does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(|n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)$")

MIN_SHARES = 2
SHARES_PER_CPU = 1024


def parse_quantity(value: str | int | float) -> Decimal:
    """A Kubernetes quantity ("100m", "64Mi", "1.5", "1e3", 2) as a Decimal; ValueError if malformed."""
    if isinstance(value, bool):
        raise ValueError(f"quantities must match the regular expression, got {value!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    m = _QUANTITY.match(value.strip())
    if not m:
        raise ValueError(
            f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', "
            f"got {value!r}"
        )
    try:
        return Decimal(m.group(1)) * _SUFFIX[m.group(2)]
    except InvalidOperation as exc:
        raise ValueError(f"invalid quantity {value!r}") from exc


def milli_cpu(value: str | int | float) -> int:
    """CPU quantity in millicores, rounded up as Kubernetes does ("0.1" -> 100, "1" -> 1000)."""
    return int((parse_quantity(value) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def bytes_of(value: str | int | float) -> int:
    return int(parse_quantity(value).to_integral_value(rounding="ROUND_CEILING"))


def cpu_shares(milli: int | None) -> int:
    if not milli:
        return MIN_SHARES
    return max(MIN_SHARES, milli * SHARES_PER_CPU // 1000)


def host_config_resources(resources: Mapping[str, Any] | None) -> dict[str, int]:
    """HostConfig fields for a container's ``resources`` (``{"limits": {...}, "requests": {...}}``)."""
    resources = resources or {}
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    out: dict[str, int] = {}
    if limits.get("cpu") is not None:
        out["NanoCpus"] = milli_cpu(limits["cpu"]) * 1_000_000
    if limits.get("memory") is not None:
        mem = bytes_of(limits["memory"])
        out["Memory"] = mem
        out["MemorySwap"] = mem
    request = requests.get("cpu", limits.get("cpu"))
    out["CpuShares"] = cpu_shares(milli_cpu(request) if request is not None else None)
    return out


def effective_security(
    pod_sc: Mapping[str, Any] | None, container_sc: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The container's securityContext over the pod's (the fields both have: runAsUser, runAsGroup,
    runAsNonRoot), as Kubernetes merges them."""
    merged: dict[str, Any] = {}
    for key in ("runAsUser", "runAsGroup", "runAsNonRoot"):
        if pod_sc and pod_sc.get(key) is not None:
            merged[key] = pod_sc[key]
    merged.update({k: v for k, v in (container_sc or {}).items() if v is not None})
    return merged


def security_config(sc: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Config fields, HostConfig fields) for an effective securityContext."""
    sc = sc or {}
    config: dict[str, Any] = {}
    host: dict[str, Any] = {}
    if sc.get("runAsUser") is not None:
        user = str(int(sc["runAsUser"]))
        if sc.get("runAsGroup") is not None:
            user += f":{int(sc['runAsGroup'])}"
        config["User"] = user
    if sc.get("privileged"):
        host["Privileged"] = True
    if sc.get("readOnlyRootFilesystem"):
        host["ReadonlyRootfs"] = True
    caps = sc.get("capabilities") or {}
    if caps.get("add"):
        host["CapAdd"] = list(caps["add"])
    if caps.get("drop"):
        host["CapDrop"] = list(caps["drop"])
    if sc.get("allowPrivilegeEscalation") is False:
        host["SecurityOpt"] = ["no-new-privileges"]
    return config, host
