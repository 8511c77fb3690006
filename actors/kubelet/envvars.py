"""A container's environment, command and args as Kubernetes resolves them. No I/O.

The kubelet fetches the ConfigMaps and Secrets a container names (:func:`referenced_objects` says
which) and hands them in; :func:`resolve_env` then builds the environment in Kubernetes' order:
``envFrom`` sources first (each key with the source's prefix; keys that are not valid variable
names are skipped), then ``env`` entries, each ``value`` expanded against the variables defined so
far (``$(VAR)``; ``$$`` escapes a ``$``; an undefined reference stays as written). ``command`` and
``args`` are expanded against the final environment.

A missing non-optional reference raises :class:`ContainerConfigError` with Kubernetes' message; the
kubelet shows it as the container's waiting reason ``CreateContainerConfigError``.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from typing import Any

from actors.kubelet.downward import field_ref_value
from schemas.errors import JetkubeError
from schemas.quantity import parse

Obj = dict[str, Any]
# (kind, name) -> the object, or None when it does not exist; kind is "configmaps" | "secrets"
Objects = Mapping[tuple[str, str], Obj | None]

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class ContainerConfigError(JetkubeError):
    """The container cannot be configured (the waiting reason CreateContainerConfigError)."""

    code = 422
    reason = "CreateContainerConfigError"


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: defined references replaced, ``$$`` -> ``$``, the rest kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            name = text[i + 2 : end]
            out.append(env[name] if name in env else text[i : end + 1])
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def referenced_objects(container: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The (kind, name) of every ConfigMap and Secret the container's env and envFrom name."""
    refs: set[tuple[str, str]] = set()
    for src in container.get("envFrom") or []:
        if (src.get("configMapRef") or {}).get("name"):
            refs.add(("configmaps", src["configMapRef"]["name"]))
        if (src.get("secretRef") or {}).get("name"):
            refs.add(("secrets", src["secretRef"]["name"]))
    for e in container.get("env") or []:
        vf = e.get("valueFrom") or {}
        if (vf.get("configMapKeyRef") or {}).get("name"):
            refs.add(("configmaps", vf["configMapKeyRef"]["name"]))
        if (vf.get("secretKeyRef") or {}).get("name"):
            refs.add(("secrets", vf["secretKeyRef"]["name"]))
    return refs


def object_data(kind: str, obj: Obj) -> dict[str, str]:
    """A ConfigMap's data (binaryData decoded too) or a Secret's data, decoded, as text."""
    out: dict[str, str] = {}
    if kind == "secrets":
        for k, v in (obj.get("data") or {}).items():
            out[k] = base64.b64decode(v).decode(errors="replace")
        for k, v in (obj.get("stringData") or {}).items():
            out[k] = str(v)
        return out
    for k, v in (obj.get("binaryData") or {}).items():
        out[k] = base64.b64decode(v).decode(errors="replace")
    out.update({k: str(v) for k, v in (obj.get("data") or {}).items()})
    return out


def _kind_word(kind: str) -> tuple[str, str]:
    return ("configmap", "ConfigMap") if kind == "configmaps" else ("secret", "Secret")


def _key_ref(kind: str, ref: Mapping[str, Any], namespace: str, objects: Objects) -> str | None:
    name = str(ref.get("name") or "")
    key = str(ref.get("key") or "")
    optional = bool(ref.get("optional"))
    obj = objects.get((kind, name))
    lower, title = _kind_word(kind)
    if obj is None:
        if optional:
            return None
        raise ContainerConfigError(f'{lower} "{name}" not found')
    data = object_data(kind, obj)
    if key not in data:
        if optional:
            return None
        raise ContainerConfigError(f"couldn't find key {key} in {title} {namespace}/{name}")
    return data[key]


def resource_field_value(
    container: Mapping[str, Any], ref: Mapping[str, Any], allocatable: Mapping[str, Any] | None = None
) -> str:
    """``resourceFieldRef`` (limits/requests of cpu, memory, ephemeral-storage) with its divisor,
    rounded up; a limit that is not set is the node's allocatable, as Kubernetes does."""
    resource = str(ref.get("resource") or "")
    group, _, name = resource.partition(".")
    res = container.get("resources") or {}
    value = (res.get(group) or {}).get(name)
    if value is None and group == "requests":
        value = (res.get("limits") or {}).get(name)
    if value is None and group == "limits":
        value = (allocatable or {}).get(name)
    if value is None:
        value = "0"
    divisor = ref.get("divisor") or "1"
    quotient = parse(value) / parse(divisor)
    return str(max(math.ceil(quotient), 1 if quotient > 0 else 0))


def service_env(pod: Obj, services: list[Obj]) -> dict[str, str]:
    """Kubernetes' service environment variables for ``pod``, from the Services it may see.

    ``services`` are those of the pod's namespace plus ``default/kubernetes``; with
    ``enableServiceLinks: false`` only the latter counts. Each Service with a ClusterIP gives
    ``<NAME>_SERVICE_HOST``, ``<NAME>_SERVICE_PORT`` (its first port), ``<NAME>_SERVICE_PORT_<PORT>``
    per named port and the Docker-link style ``<NAME>_PORT``, ``<NAME>_PORT_<n>_<PROTO>[_PROTO|_PORT|
    _ADDR]``; ``NAME`` is the Service's name upper-cased with ``-`` as ``_``."""
    ns = str((pod.get("metadata") or {}).get("namespace") or "default")
    links = (pod.get("spec") or {}).get("enableServiceLinks", True) is not False
    chosen: dict[str, Obj] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        svc_ns = str(meta.get("namespace") or "default")
        master = svc_ns == "default" and meta.get("name") == "kubernetes"
        if (svc_ns == ns and links) or (master and meta.get("name") not in chosen):
            chosen[str(meta.get("name"))] = svc
    env: dict[str, str] = {}
    for name in sorted(chosen):
        spec = chosen[name].get("spec") or {}
        ip = str(spec.get("clusterIP") or "")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        prefix = name.upper().replace("-", "_")
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        for p in ports:
            if p.get("name"):
                env[f"{prefix}_SERVICE_PORT_{str(p['name']).upper().replace('-', '_')}"] = str(p["port"])
        first = ports[0]
        env[f"{prefix}_PORT"] = f"{str(first.get('protocol') or 'TCP').lower()}://{ip}:{first['port']}"
        for p in ports:
            proto = str(p.get("protocol") or "TCP")
            base = f"{prefix}_PORT_{p['port']}_{proto.upper()}"
            env[base] = f"{proto.lower()}://{ip}:{p['port']}"
            env[f"{base}_PROTO"] = proto.lower()
            env[f"{base}_PORT"] = str(p["port"])
            env[f"{base}_ADDR"] = ip
    return env


def resolve_env(
    pod: Obj,
    container: Mapping[str, Any],
    objects: Objects,
    *,
    allocatable: Mapping[str, Any] | None = None,
    base_env: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The container's environment, in order (later entries win in Docker as in Kubernetes).
    ``base_env`` (the service variables) comes first: envFrom and env may override or use them."""
    namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
    env: dict[str, str] = dict(base_env or {})
    for src in container.get("envFrom") or []:
        prefix = str(src.get("prefix") or "")
        for kind, field in (("configmaps", "configMapRef"), ("secrets", "secretRef")):
            ref = src.get(field)
            if not ref:
                continue
            obj = objects.get((kind, str(ref.get("name") or "")))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise ContainerConfigError(f'{_kind_word(kind)[0]} "{ref.get("name")}" not found')
            for k, v in object_data(kind, obj).items():
                if _ENV_NAME.match(prefix + k):
                    env[prefix + k] = v
    for e in container.get("env") or []:
        name = str(e["name"])
        vf = e.get("valueFrom")
        if not vf:
            env[name] = expand(str(e.get("value", "")), env)
            continue
        value: str | None
        if vf.get("fieldRef"):
            value = field_ref_value(pod, str(vf["fieldRef"].get("fieldPath") or ""))
        elif vf.get("resourceFieldRef"):
            ref = vf["resourceFieldRef"]
            target = container
            if ref.get("containerName"):
                spec = pod.get("spec") or {}
                target = next(
                    (
                        c
                        for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
                        if c.get("name") == ref["containerName"]
                    ),
                    container,
                )
            value = resource_field_value(target, ref, allocatable)
        elif vf.get("configMapKeyRef"):
            value = _key_ref("configmaps", vf["configMapKeyRef"], namespace, objects)
        elif vf.get("secretKeyRef"):
            value = _key_ref("secrets", vf["secretKeyRef"], namespace, objects)
        else:
            value = ""
        if value is not None:
            env[name] = value
    return list(env.items())


def expand_command(container: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """A copy of the container spec with ``$(VAR)`` expanded in command and args."""
    out = dict(container)
    for field in ("command", "args"):
        if container.get(field):
            out[field] = [expand(str(a), env) for a in container[field]]
    return out
