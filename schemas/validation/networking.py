"""Rules for networking.k8s.io/v1 Ingress and IngressClass, in Kubernetes' words.

Follows k8s.io/kubernetes/pkg/apis/networking/validation: a spec needs rules or a defaultBackend;
every path names its ``pathType`` (Exact, Prefix or ImplementationSpecific) and, for Exact and
Prefix, an absolute path without ``//``, ``/./``, ``/../`` or an encoded slash; a backend is one
service (name plus port name *or* number) or one resource; hosts are DNS names (``*.`` wildcards
allowed), never IP addresses.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from schemas import names
from schemas.errors import FieldError
from schemas.validation.errors import invalid, required, unsupported
from schemas.validation.meta import object_meta_errors
from schemas.validation.pod import PORT_RANGE

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")
MAX_CONTROLLER_LEN = 250
WILDCARD_FMT = r"\*\." + names.DNS1123_SUBDOMAIN_FMT
_WILDCARD = re.compile(f"^{WILDCARD_FMT}$")
WILDCARD_MSG = (
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which "
    "must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric "
    f"character (e.g. '*.example.com', regex used for validation is '{WILDCARD_FMT}')"
)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def host_errors(host: str) -> tuple[str, ...]:
    """A rule's or a TLS entry's host: a DNS subdomain, or ``*.`` and one."""
    if "*" in host:
        errs = [] if _WILDCARD.match(host) else [WILDCARD_MSG]
        if len(host) > 253:
            errs.insert(0, "must be no more than 253 characters")
        return tuple(errs)
    return names.dns1123_subdomain_errors(host)


def backend_errors(backend: dict[str, Any] | None, path: str, out: list[FieldError]) -> None:
    backend = backend or {}
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        out.append(invalid(path, "", "cannot set both resource and service backends"))
        return
    if resource is not None:
        for key in ("kind", "name"):
            if not resource.get(key):
                out.append(required(f"{path}.resource.{key}"))
        return
    if service is None:
        out.append(invalid(path, "", "resource or service backend is required"))
        return
    name = service.get("name")
    if not name:
        out.append(required(f"{path}.service.name"))
    else:
        for msg in names.dns1035_label_errors(name):
            out.append(invalid(f"{path}.service.name", name, msg))
    port = service.get("port") or {}
    pname, number = port.get("name"), port.get("number")
    if pname and number:
        out.append(invalid(path, "", "cannot set both port name & port number"))
    elif pname:
        for msg in names.port_name_errors(pname):
            out.append(invalid(f"{path}.service.port.name", pname, msg))
    elif number:
        if not 1 <= number <= 65535:
            out.append(invalid(f"{path}.service.port.number", number, PORT_RANGE))
    else:
        out.append(required(path, "port name or number is required"))


def http_path_errors(item: dict[str, Any], path: str, out: list[FieldError]) -> None:
    ptype = item.get("pathType")
    if ptype is None:
        out.append(required(f"{path}.pathType", "pathType must be specified"))
        return
    value = item.get("path") or ""
    if ptype in ("Exact", "Prefix"):
        if not value.startswith("/"):
            out.append(invalid(f"{path}.path", value, "must be an absolute path"))
        for seq in INVALID_PATH_SEQUENCES:
            if seq in value:
                out.append(invalid(f"{path}.path", value, f"must not contain '{seq}'"))
        for suffix in INVALID_PATH_SUFFIXES:
            if value.endswith(suffix):
                out.append(invalid(f"{path}.path", value, f"cannot end with '{suffix}'"))
    elif ptype == "ImplementationSpecific":
        if value and not value.startswith("/"):
            out.append(invalid(f"{path}.path", value, "must be an absolute path"))
    else:
        out.append(unsupported(f"{path}.pathType", ptype, PATH_TYPES))
    backend_errors(item.get("backend"), f"{path}.backend", out)


def rules_errors(rules: list[dict[str, Any]], path: str, out: list[FieldError]) -> None:
    for i, rule in enumerate(rules):
        rp = f"{path}[{i}]"
        host = rule.get("host")
        if host:
            if _is_ip(host):
                out.append(invalid(f"{rp}.host", host, "must be a DNS name, not an IP address"))
            for msg in host_errors(host):
                out.append(invalid(f"{rp}.host", host, msg))
        http = rule.get("http")
        if http is not None:
            paths = http.get("paths") or []
            if not paths:
                out.append(required(f"{rp}.http.paths"))
            for j, item in enumerate(paths):
                http_path_errors(item, f"{rp}.http.paths[{j}]", out)


def ingress_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    object_meta_errors(
        obj.get("metadata"), namespaced=True, name_check=names.dns1123_subdomain_errors, out=out
    )
    spec = obj.get("spec") or {}
    rules = spec.get("rules") or []
    if not rules and spec.get("defaultBackend") is None:
        out.append(invalid("spec", rules, "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        backend_errors(spec["defaultBackend"], "spec.defaultBackend", out)
    rules_errors(rules, "spec.rules", out)
    for i, tls in enumerate(spec.get("tls") or ()):
        for j, host in enumerate(tls.get("hosts") or ()):
            for msg in host_errors(host):
                out.append(invalid(f"spec.tls[{i}].hosts[{j}]", host, msg))
    cls = spec.get("ingressClassName")
    if cls is not None:
        for msg in names.dns1123_subdomain_errors(cls):
            out.append(invalid("spec.ingressClassName", cls, msg))
    lb = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    for i, entry in enumerate(lb):
        ip = entry.get("ip")
        if ip and not _is_ip(ip):
            out.append(invalid(f"status.loadBalancer.ingress[{i}].ip", ip, "must be a valid IP address"))


def ingress_class_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    object_meta_errors(
        obj.get("metadata"), namespaced=False, name_check=names.dns1123_subdomain_errors, out=out
    )
    controller = (obj.get("spec") or {}).get("controller") or ""
    path = "spec.controller"
    if len(controller) > MAX_CONTROLLER_LEN:
        out.append(FieldError(path, f"Too long: may not be more than {MAX_CONTROLLER_LEN} bytes"))
    if not controller:
        out.append(required(path))
        return
    domain, slash, rest = controller.partition("/")
    if not slash or not rest:
        out.append(invalid(path, controller, 'must be a domain-prefixed path (such as "acme.io/foo")'))
        return
    for msg in names.dns1123_subdomain_errors(domain):
        out.append(invalid(path, domain, msg))
