"""PodSpec rules (ValidatePodSpec): containers, ports, env, probes, volumes, scheduling fields.

Runs on the defaulted camelCase dict after the structural check, so types are already right; every
function appends to ``out`` and never raises.
"""

from __future__ import annotations

from typing import Any

from schemas import names, quantity
from schemas.errors import FieldError
from schemas.validation.errors import duplicate, forbidden, invalid, not_found, required, unsupported
from schemas.validation.fieldrefs import ENV_FIELD_PATHS, field_ref_errors
from schemas.validation.meta import annotations_errors, labels_errors, object_meta_errors
from schemas.validation.scheduling import affinity_errors, tolerations_errors
from schemas.validation.volumes import volume_source_errors

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
PROTOCOLS = ("SCTP", "TCP", "UDP")
MAX_INT32 = 2**31 - 1
PORT_RANGE = "must be between 1 and 65535, inclusive"
NON_NEGATIVE = "must be greater than or equal to 0"


def non_negative(value: int | None, path: str, out: list[FieldError]) -> None:
    if value is not None and value < 0:
        out.append(invalid(path, value, NON_NEGATIVE))


def _port_num_or_name(port: int | str, path: str, out: list[FieldError]) -> None:
    if isinstance(port, int):
        if not 1 <= port <= 65535:
            out.append(invalid(path, port, PORT_RANGE))
    else:
        for msg in names.port_name_errors(port):
            out.append(invalid(path, port, msg))


def _handler(h: dict[str, Any], path: str, out: list[FieldError], *, probe: bool) -> None:
    kinds = [k for k in ("exec", "httpGet", "tcpSocket", "grpc", "sleep") if k in h]
    if not kinds:
        out.append(required(path, "must specify a handler type"))
        return
    if len(kinds) > 1:
        out.append(forbidden(f"{path}.{kinds[1]}", "may not specify more than 1 handler type"))
    if "exec" in h and not h["exec"].get("command"):
        out.append(required(f"{path}.exec.command"))
    if "httpGet" in h:
        g = h["httpGet"]
        _port_num_or_name(g["port"], f"{path}.httpGet.port", out)
        scheme = g.get("scheme")
        if scheme is not None and scheme not in ("HTTP", "HTTPS"):
            out.append(unsupported(f"{path}.httpGet.scheme", scheme, ["HTTP", "HTTPS"]))
        for i, hd in enumerate(g.get("httpHeaders") or ()):
            if not hd.get("name"):
                out.append(required(f"{path}.httpGet.httpHeaders[{i}].name"))
    if "tcpSocket" in h:
        _port_num_or_name(h["tcpSocket"]["port"], f"{path}.tcpSocket.port", out)
    if "grpc" in h:
        _port_num_or_name(h["grpc"]["port"], f"{path}.grpc.port", out)


def _probe(p: dict[str, Any], path: str, out: list[FieldError], *, kind: str) -> None:
    _handler(p, path, out, probe=True)
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        non_negative(p.get(key), f"{path}.{key}", out)
    st = p.get("successThreshold")
    if kind != "readinessProbe" and st is not None and st != 1:
        out.append(invalid(f"{path}.successThreshold", st, "must be 1"))
    tg = p.get("terminationGracePeriodSeconds")
    if tg is not None and tg <= 0:
        out.append(invalid(f"{path}.terminationGracePeriodSeconds", tg, "must be greater than 0"))


def _resources(res: dict[str, Any], path: str, out: list[FieldError]) -> None:
    limits = res.get("limits") or {}
    requests = res.get("requests") or {}
    for section, values in (("limits", limits), ("requests", requests)):
        for name, q in values.items():
            for msg in names.qualified_name_errors(name):
                out.append(invalid(f"{path}.{section}[{name}]", name, msg))
            if quantity.parse(q) < 0:
                out.append(invalid(f"{path}.{section}[{name}]", q, NON_NEGATIVE))
    for name, q in requests.items():
        if name in limits and quantity.parse(q) > quantity.parse(limits[name]):
            out.append(
                invalid(
                    f"{path}.requests", q, f"must be less than or equal to {name} limit of {limits[name]}"
                )
            )


def _container(
    c: dict[str, Any],
    path: str,
    volumes: set[str],
    out: list[FieldError],
    *,
    host_network: bool,
    init: bool,
) -> None:
    name = c.get("name", "")
    if not name:
        out.append(required(f"{path}.name"))
    else:
        for msg in names.dns1123_label_errors(name):
            out.append(invalid(f"{path}.name", name, msg))
    if not c.get("image"):
        out.append(required(f"{path}.image"))
    ports = c.get("ports")
    if ports:
        seen_names: set[str] = set()
        for i, p in enumerate(ports):
            pp = f"{path}.ports[{i}]"
            pname = p.get("name")
            if pname:
                for msg in names.port_name_errors(pname):
                    out.append(invalid(f"{pp}.name", pname, msg))
                if pname in seen_names:
                    out.append(duplicate(f"{pp}.name", pname))
                seen_names.add(pname)
            cp = p["containerPort"]
            if cp == 0:
                out.append(required(f"{pp}.containerPort"))
            elif not 1 <= cp <= 65535:
                out.append(invalid(f"{pp}.containerPort", cp, PORT_RANGE))
            hp = p.get("hostPort")
            if hp:
                if not 1 <= hp <= 65535:
                    out.append(invalid(f"{pp}.hostPort", hp, PORT_RANGE))
                elif host_network and hp != cp:
                    out.append(
                        invalid(f"{pp}.hostPort", hp, "must match `containerPort` when `hostNetwork` is true")
                    )
            proto = p.get("protocol")
            if proto is not None and proto not in PROTOCOLS:
                out.append(unsupported(f"{pp}.protocol", proto, PROTOCOLS))
    for i, e in enumerate(c.get("env") or ()):
        ep = f"{path}.env[{i}]"
        ename = e.get("name", "")
        if not ename:
            out.append(required(f"{ep}.name"))
        else:
            for msg in names.env_var_name_errors(ename):
                out.append(invalid(f"{ep}.name", ename, msg))
        vf = e.get("valueFrom")
        if vf is not None:
            if e.get("value"):
                out.append(invalid(f"{ep}.valueFrom", "", "may not be specified when `value` is not empty"))
            sources = [
                k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef") if k in vf
            ]
            if not sources:
                out.append(
                    invalid(
                        f"{ep}.valueFrom",
                        "",
                        "must specify one of: `fieldRef`, `resourceFieldRef`, "
                        "`configMapKeyRef` or `secretKeyRef`",
                    )
                )
            elif len(sources) > 1:
                out.append(
                    invalid(f"{ep}.valueFrom", "", "may not have more than one field specified at a time")
                )
            if "fieldRef" in vf:
                field_ref_errors(vf["fieldRef"], f"{ep}.valueFrom.fieldRef", ENV_FIELD_PATHS, out)
            for ref in ("configMapKeyRef", "secretKeyRef"):
                if ref in vf:
                    if not vf[ref].get("key"):
                        out.append(required(f"{ep}.valueFrom.{ref}.key"))
                    if not vf[ref].get("name"):
                        out.append(required(f"{ep}.valueFrom.{ref}.name"))
    for i, ef in enumerate(c.get("envFrom") or ()):
        refs = [k for k in ("configMapRef", "secretRef") if k in ef]
        if len(refs) != 1:
            out.append(
                invalid(
                    f"{path}.envFrom[{i}]", "", "must specify exactly one of: `configMapRef` or `secretRef`"
                )
            )
        prefix = ef.get("prefix")
        if prefix:
            for msg in names.env_var_name_errors(prefix):
                out.append(invalid(f"{path}.envFrom[{i}].prefix", prefix, msg))
    res = c.get("resources")
    if res:
        _resources(res, f"{path}.resources", out)
    mounts = c.get("volumeMounts")
    if mounts:
        seen_paths: set[str] = set()
        for i, m in enumerate(mounts):
            mp = f"{path}.volumeMounts[{i}]"
            if m["name"] not in volumes:
                out.append(not_found(f"{mp}.name", m["name"]))
            mpath = m["mountPath"]
            if not mpath:
                out.append(required(f"{mp}.mountPath"))
            elif mpath in seen_paths:
                out.append(invalid(f"{mp}.mountPath", mpath, "must be unique"))
            seen_paths.add(mpath)
            sub = m.get("subPath")
            if sub and (sub.startswith("/") or ".." in sub.split("/")):
                out.append(invalid(f"{mp}.subPath", sub, "must be a relative path without '..'"))
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(kind)
        if probe is not None:
            if init and c.get("restartPolicy") != "Always":
                out.append(
                    forbidden(
                        f"{path}.{kind}", "may not be set for init containers without restartPolicy=Always"
                    )
                )
            _probe(probe, f"{path}.{kind}", out, kind=kind)
    lc = c.get("lifecycle")
    if lc:
        for hook in ("postStart", "preStop"):
            if hook in lc:
                _handler(lc[hook], f"{path}.lifecycle.{hook}", out, probe=False)
    for key, allowed in (
        ("imagePullPolicy", PULL_POLICIES),
        ("terminationMessagePolicy", MESSAGE_POLICIES),
    ):
        v = c.get(key)
        if v is not None and v not in allowed:
            out.append(unsupported(f"{path}.{key}", v, allowed))
    tmp = c.get("terminationMessagePath")
    if tmp is not None and not tmp:
        out.append(required(f"{path}.terminationMessagePath"))
    rp = c.get("restartPolicy")
    if rp is not None:
        if not init:
            out.append(forbidden(f"{path}.restartPolicy", "may not be set for non-init containers"))
        elif rp != "Always":
            out.append(unsupported(f"{path}.restartPolicy", rp, ["Always"]))
    sc = c.get("securityContext")
    if sc:
        for key in ("runAsUser", "runAsGroup"):
            non_negative(sc.get(key), f"{path}.securityContext.{key}", out)


def pod_spec_errors(spec: dict[str, Any] | None, path: str, out: list[FieldError]) -> None:
    spec = spec or {}
    volumes: set[str] = set()
    for i, v in enumerate(spec.get("volumes") or ()):
        vp = f"{path}.volumes[{i}]"
        vname = v["name"]
        if not vname:
            out.append(required(f"{vp}.name"))
        else:
            for msg in names.dns1123_label_errors(vname):
                out.append(invalid(f"{vp}.name", vname, msg))
            if vname in volumes:
                out.append(duplicate(f"{vp}.name", vname))
        volumes.add(vname)
        volume_source_errors(v, vp, out)
    host_network = bool(spec.get("hostNetwork"))
    seen: set[str] = set()
    for key, init in (("initContainers", True), ("containers", False)):
        containers = spec.get(key)
        if not containers:
            if not init:
                out.append(required(f"{path}.containers"))
            continue
        for i, c in enumerate(containers):
            cp = f"{path}.{key}[{i}]"
            _container(c, cp, volumes, out, host_network=host_network, init=init)
            cname = c.get("name")
            if cname:
                if cname in seen:
                    out.append(duplicate(f"{cp}.name", cname))
                seen.add(cname)
    rp = spec.get("restartPolicy")
    if rp is not None and rp not in RESTART_POLICIES:
        out.append(unsupported(f"{path}.restartPolicy", rp, RESTART_POLICIES))
    dp = spec.get("dnsPolicy")
    if dp is not None and dp not in DNS_POLICIES:
        out.append(unsupported(f"{path}.dnsPolicy", dp, DNS_POLICIES))
    if dp == "None" and not (spec.get("dnsConfig") or {}).get("nameservers"):
        out.append(
            required(
                f"{path}.dnsConfig.nameservers",
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )
        )
    non_negative(spec.get("terminationGracePeriodSeconds"), f"{path}.terminationGracePeriodSeconds", out)
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and not 1 <= ads <= MAX_INT32:
        out.append(
            invalid(f"{path}.activeDeadlineSeconds", ads, f"must be between 1 and {MAX_INT32}, inclusive")
        )
    labels_errors(spec.get("nodeSelector"), f"{path}.nodeSelector", out)
    for key in ("nodeName", "serviceAccountName", "schedulerName", "priorityClassName"):
        v = spec.get(key)
        if v:
            for msg in names.dns1123_subdomain_errors(v):
                out.append(invalid(f"{path}.{key}", v, msg))
    for key in ("hostname", "subdomain"):
        v = spec.get(key)
        if v:
            for msg in names.dns1123_label_errors(v):
                out.append(invalid(f"{path}.{key}", v, msg))
    aff = spec.get("affinity")
    if aff:
        affinity_errors(aff, f"{path}.affinity", out)
    tols = spec.get("tolerations")
    if tols:
        tolerations_errors(tols, f"{path}.tolerations", out)
    sc = spec.get("securityContext")
    if sc:
        for key in ("runAsUser", "runAsGroup", "fsGroup"):
            non_negative(sc.get(key), f"{path}.securityContext.{key}", out)
    for i, s in enumerate(spec.get("imagePullSecrets") or ()):
        if not s.get("name"):
            out.append(required(f"{path}.imagePullSecrets[{i}].name"))


def pod_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    object_meta_errors(
        obj.get("metadata"), namespaced=True, name_check=names.dns1123_subdomain_errors, out=out
    )
    pod_spec_errors(obj.get("spec"), "spec", out)


def template_errors(
    template: dict[str, Any] | None,
    path: str,
    out: list[FieldError],
    *,
    restart_policies: tuple[str, ...],
) -> None:
    """A PodTemplateSpec inside a controller: labels, the pod spec, the allowed restart policies."""
    if template is None:
        out.append(required(path))
        return
    meta = template.get("metadata") or {}
    labels_errors(meta.get("labels"), f"{path}.metadata.labels", out)
    annotations_errors(meta.get("annotations"), f"{path}.metadata.annotations", out)
    spec = template.get("spec")
    pod_spec_errors(spec, f"{path}.spec", out)
    rp = (spec or {}).get("restartPolicy")
    if rp is None:
        if restart_policies != ("Always",):
            out.append(
                required(
                    f"{path}.spec.restartPolicy",
                    "valid values: " + ", ".join(f'"{p}"' for p in restart_policies),
                )
            )
    elif rp in RESTART_POLICIES and rp not in restart_policies:
        out.append(unsupported(f"{path}.spec.restartPolicy", rp, restart_policies))
    ads = (spec or {}).get("activeDeadlineSeconds")
    if ads is not None and restart_policies == ("Always",):
        out.append(
            forbidden(
                f"{path}.spec.activeDeadlineSeconds", "activeDeadlineSeconds in ReplicaSet is not Supported"
            )
        )
