"""Rules for the core kinds other than Pod and ReplicationController, and for Lease."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from functools import lru_cache
from typing import Any

from schemas import names, quantity
from schemas.errors import FieldError
from schemas.validation.errors import duplicate, forbidden, invalid, required, too_long, unsupported
from schemas.validation.meta import labels_errors, object_meta_errors
from schemas.validation.pod import NON_NEGATIVE, PORT_RANGE, PROTOCOLS, non_negative
from schemas.validation.scheduling import TAINT_EFFECTS

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
MAX_DATA_SIZE = 1024 * 1024
QUOTA_SCOPES = (
    "BestEffort",
    "CrossNamespacePodAffinity",
    "NotBestEffort",
    "NotTerminating",
    "PriorityClass",
    "Terminating",
)
LIMIT_TYPES = ("Container", "Pod", "PersistentVolumeClaim")


@lru_cache(maxsize=4096)
def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _meta(
    obj: dict[str, Any], out: list[FieldError], *, namespaced: bool = True, label: bool = False
) -> None:
    check = names.dns1123_label_errors if label else names.dns1123_subdomain_errors
    object_meta_errors(obj.get("metadata"), namespaced=namespaced, name_check=check, out=out)


def service_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    object_meta_errors(obj.get("metadata"), namespaced=True, name_check=names.dns1035_label_errors, out=out)
    spec = obj.get("spec") or {}
    stype = spec.get("type", "ClusterIP")
    if stype not in SERVICE_TYPES:
        out.append(unsupported("spec.type", stype, SERVICE_TYPES))
    cluster_ip = spec.get("clusterIP")
    headless = cluster_ip == "None"
    ports = spec.get("ports") or []
    if stype == "ExternalName":
        ext = spec.get("externalName")
        if not ext:
            out.append(required("spec.externalName"))
        else:
            for msg in names.dns1123_subdomain_errors(ext.rstrip(".")):
                out.append(invalid("spec.externalName", ext, msg))
    elif not ports and not headless:
        out.append(required("spec.ports"))
    seen_names: set[str] = set()
    seen_ports: set[tuple[int, str]] = set()
    for i, p in enumerate(ports):
        pp = f"spec.ports[{i}]"
        pname = p.get("name")
        if len(ports) > 1 and not pname:
            out.append(required(f"{pp}.name"))
        if pname:
            for msg in names.dns1123_label_errors(pname):
                out.append(invalid(f"{pp}.name", pname, msg))
            if pname in seen_names:
                out.append(duplicate(f"{pp}.name", pname))
            seen_names.add(pname)
        port = p["port"]
        if not 1 <= port <= 65535:
            out.append(invalid(f"{pp}.port", port, PORT_RANGE))
        proto = p.get("protocol", "TCP")
        if proto not in PROTOCOLS:
            out.append(unsupported(f"{pp}.protocol", proto, PROTOCOLS))
        key = (port, proto)
        if key in seen_ports:
            out.append(duplicate(pp, {"port": port, "protocol": proto}))
        seen_ports.add(key)
        tp = p.get("targetPort")
        if isinstance(tp, int):
            if not 1 <= tp <= 65535:
                out.append(invalid(f"{pp}.targetPort", tp, PORT_RANGE))
        elif tp is not None:
            for msg in names.port_name_errors(tp):
                out.append(invalid(f"{pp}.targetPort", tp, msg))
        np_ = p.get("nodePort")
        if np_:
            if stype not in ("NodePort", "LoadBalancer"):
                out.append(forbidden(f"{pp}.nodePort", "may not be used when `type` is '" + stype + "'"))
            elif not 1 <= np_ <= 65535:
                out.append(invalid(f"{pp}.nodePort", np_, PORT_RANGE))
    labels_errors(spec.get("selector"), "spec.selector", out)
    if cluster_ip and not headless and not _is_ip(cluster_ip):
        out.append(invalid("spec.clusterIP", cluster_ip, "must be empty, 'None', or a valid IP address"))
    for i, ip in enumerate(spec.get("clusterIPs") or ()):
        if ip != "None" and not _is_ip(ip):
            out.append(invalid(f"spec.clusterIPs[{i}]", ip, "must be a valid IP address"))
    for i, ip in enumerate(spec.get("externalIPs") or ()):
        if not _is_ip(ip):
            out.append(invalid(f"spec.externalIPs[{i}]", ip, "must be a valid IP address"))
    sa = spec.get("sessionAffinity")
    if sa is not None and sa not in ("ClientIP", "None"):
        out.append(unsupported("spec.sessionAffinity", sa, ["ClientIP", "None"]))
    etp = spec.get("externalTrafficPolicy")
    if etp is not None:
        if stype not in ("NodePort", "LoadBalancer"):
            out.append(
                invalid(
                    "spec.externalTrafficPolicy",
                    etp,
                    "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
                )
            )
        elif etp not in ("Cluster", "Local"):
            out.append(unsupported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    itp = spec.get("internalTrafficPolicy")
    if itp is not None and itp not in ("Cluster", "Local"):
        out.append(unsupported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))


def endpoints_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    object_meta_errors(
        obj.get("metadata"), namespaced=True, name_check=names.dns1123_subdomain_errors, out=out
    )
    for i, ss in enumerate(obj.get("subsets") or ()):
        sp = f"subsets[{i}]"
        for key in ("addresses", "notReadyAddresses"):
            for j, a in enumerate(ss.get(key) or ()):
                if not _is_ip(a["ip"]):
                    out.append(invalid(f"{sp}.{key}[{j}].ip", a["ip"], "must be a valid IP address"))
        for j, p in enumerate(ss.get("ports") or ()):
            if not 1 <= p["port"] <= 65535:
                out.append(invalid(f"{sp}.ports[{j}].port", p["port"], PORT_RANGE))
            proto = p.get("protocol", "TCP")
            if proto not in PROTOCOLS:
                out.append(unsupported(f"{sp}.ports[{j}].protocol", proto, PROTOCOLS))


def _b64_errors(data: dict[str, str] | None, path: str, out: list[FieldError]) -> int:
    size = 0
    for key, value in (data or {}).items():
        try:
            size += len(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            out.append(invalid(f"{path}[{key}]", "<value omitted>", "illegal base64 data"))
    return size


def config_map_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    data = obj.get("data") or {}
    binary = obj.get("binaryData") or {}
    size = 0
    for key, value in data.items():
        for msg in names.config_key_errors(key):
            out.append(invalid(f"data[{key}]", key, msg))
        size += len(key) + len(value)
    for key in binary:
        for msg in names.config_key_errors(key):
            out.append(invalid(f"binaryData[{key}]", key, msg))
        if key in data:
            out.append(invalid(f"binaryData[{key}]", key, "duplicate of key present in data"))
    size += _b64_errors(binary, "binaryData", out)
    if size > MAX_DATA_SIZE:
        out.append(too_long("", MAX_DATA_SIZE))


def secret_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    data = obj.get("data") or {}
    for key in data:
        for msg in names.config_key_errors(key):
            out.append(invalid(f"data[{key}]", key, msg))
    size = _b64_errors(data, "data", out)
    if size > MAX_DATA_SIZE:
        out.append(too_long("data", MAX_DATA_SIZE))
    stype = obj.get("type", "Opaque")
    needs = {
        "kubernetes.io/tls": ("tls.crt", "tls.key"),
        "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
        "kubernetes.io/dockercfg": (".dockercfg",),
        "kubernetes.io/basic-auth": (),
        "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    }.get(stype, ())
    for key in needs:
        if key not in data:
            out.append(required(f"data[{key}]"))
    if stype == "kubernetes.io/service-account-token":
        ann = (obj.get("metadata") or {}).get("annotations") or {}
        if not ann.get("kubernetes.io/service-account.name"):
            out.append(required("metadata.annotations[kubernetes.io/service-account.name]"))


def namespace_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out, namespaced=False, label=True)
    for i, fin in enumerate((obj.get("spec") or {}).get("finalizers") or ()):
        for msg in names.qualified_name_errors(fin):
            out.append(invalid(f"spec.finalizers[{i}]", fin, msg))
    phase = (obj.get("status") or {}).get("phase")
    if phase is not None and phase not in ("Active", "Terminating"):
        out.append(unsupported("status.phase", phase, ["Active", "Terminating"]))


def node_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out, namespaced=False)
    spec = obj.get("spec") or {}
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(spec.get("taints") or ()):
        tp = f"spec.taints[{i}]"
        for msg in names.qualified_name_errors(t["key"]):
            out.append(invalid(f"{tp}.key", t["key"], msg))
        value = t.get("value")
        if value:
            for msg in names.label_value_errors(value):
                out.append(invalid(f"{tp}.value", value, msg))
        if t["effect"] not in TAINT_EFFECTS:
            out.append(unsupported(f"{tp}.effect", t["effect"], TAINT_EFFECTS))
        key = (t["key"], t["effect"])
        if key in seen:
            out.append(duplicate(tp, f"{t['key']}:{t['effect']}"))
        seen.add(key)
    _pod_cidrs(spec, out)
    status = obj.get("status") or {}
    for section in ("capacity", "allocatable"):
        for name, q in (status.get(section) or {}).items():
            if quantity.parse(q) < 0:
                out.append(invalid(f"status.{section}[{name}]", q, NON_NEGATIVE))


def _pod_cidrs(spec: dict[str, Any], out: list[FieldError]) -> None:
    """spec.podCIDR and spec.podCIDRs: valid CIDRs, and podCIDRs[0] is podCIDR (Kubernetes' rule)."""
    import ipaddress

    def bad(path: str, value: Any) -> bool:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            out.append(invalid(path, value, "must be a valid CIDR, e.g. 10.244.1.0/24"))
            return True
        return False

    single = spec.get("podCIDR")
    if single:
        bad("spec.podCIDR", single)
    many = spec.get("podCIDRs") or []
    for i, cidr in enumerate(many):
        bad(f"spec.podCIDRs[{i}]", cidr)
    if single and many and many[0] != single:
        out.append(invalid("spec.podCIDRs", many, "the first element must equal spec.podCIDR"))


def _resource_list(values: dict[str, Any] | None, path: str, out: list[FieldError]) -> None:
    for name, q in (values or {}).items():
        for msg in names.qualified_name_errors(name):
            out.append(invalid(f"{path}[{name}]", name, msg))
        if quantity.parse(q) < 0:
            out.append(invalid(f"{path}[{name}]", q, NON_NEGATIVE))


def resource_quota_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    spec = obj.get("spec") or {}
    _resource_list(spec.get("hard"), "spec.hard", out)
    for i, scope in enumerate(spec.get("scopes") or ()):
        if scope not in QUOTA_SCOPES:
            out.append(unsupported(f"spec.scopes[{i}]", scope, QUOTA_SCOPES))
    status = obj.get("status") or {}
    _resource_list(status.get("hard"), "status.hard", out)
    _resource_list(status.get("used"), "status.used", out)


def limit_range_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    spec = obj.get("spec") or {}
    seen: set[str] = set()
    for i, item in enumerate(spec.get("limits") or ()):
        ip = f"spec.limits[{i}]"
        ltype = item["type"]
        if ltype not in LIMIT_TYPES:
            out.append(unsupported(f"{ip}.type", ltype, LIMIT_TYPES))
        if ltype in seen:
            out.append(duplicate(f"{ip}.type", ltype))
        seen.add(ltype)
        sections = {
            k: item.get(k) or {} for k in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")
        }
        for key, values in sections.items():
            _resource_list(values, f"{ip}.{key}", out)
        if ltype == "Pod" and (sections["default"] or sections["defaultRequest"]):
            out.append(forbidden(f"{ip}.default", "may not be specified when `type` is 'Pod'"))
        mx, mn = sections["max"], sections["min"]
        for name, q in mn.items():
            if name in mx and quantity.parse(q) > quantity.parse(mx[name]):
                out.append(
                    invalid(f"{ip}.min[{name}]", q, f"min value {q} is greater than max value {mx[name]}")
                )
        for key in ("default", "defaultRequest"):
            for name, q in sections[key].items():
                v = quantity.parse(q)
                if name in mx and v > quantity.parse(mx[name]):
                    out.append(
                        invalid(
                            f"{ip}.{key}[{name}]", q, f"{key} value {q} is greater than max value {mx[name]}"
                        )
                    )
                if name in mn and v < quantity.parse(mn[name]):
                    out.append(
                        invalid(
                            f"{ip}.{key}[{name}]", q, f"min value {mn[name]} is greater than {key} value {q}"
                        )
                    )
        for name, q in sections["maxLimitRequestRatio"].items():
            if quantity.parse(q) < 1:
                out.append(
                    invalid(
                        f"{ip}.maxLimitRequestRatio[{name}]", q, "ratio must be greater than or equal to 1"
                    )
                )


def event_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    meta = obj.get("metadata") or {}
    object_meta_errors(meta, namespaced=True, name_check=names.dns1123_subdomain_errors, out=out)
    inv = obj.get("involvedObject") or {}
    ns = inv.get("namespace")
    if ns and meta.get("namespace") and ns != meta["namespace"]:
        out.append(invalid("involvedObject.namespace", ns, "does not match event.namespace"))
    et = obj.get("type")
    if et is not None and et not in ("Normal", "Warning"):
        out.append(unsupported("type", et, ["Normal", "Warning"]))
    non_negative(obj.get("count"), "count", out)


def lease_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    spec = obj.get("spec") or {}
    ld = spec.get("leaseDurationSeconds")
    if ld is not None and ld <= 0:
        out.append(invalid("spec.leaseDurationSeconds", ld, "must be greater than 0"))
    non_negative(spec.get("leaseTransitions"), "spec.leaseTransitions", out)
