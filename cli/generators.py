"""The objects kubectl's generators make, pure: ``create deployment|job|configmap|secret generic|
service``, ``run`` and ``expose``. Each returns exactly what ``kubectl ... --dry-run=client -o yaml``
(v1.32) prints, empty ``resources: {}`` and ``creationTimestamp: null`` included.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schemas.errors import BadRequest

Obj = dict[str, Any]


def _meta(name: str, labels: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"creationTimestamp": None}
    if labels:
        meta["labels"] = labels
    meta["name"] = name
    return meta


def container_name(image: str, taken: set[str], rng: random.Random | None = None) -> str:
    """kubectl's: the image's last path part without tag or digest; ``_`` made ``-`` and then a
    random ``-xxxxx`` suffix (as kubectl's sanitizeAndUniquify), and unique among ``taken``."""
    name = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    if "_" in name:
        rng = rng or random.Random()
        name = (
            name.replace("_", "-")
            + "-"
            + "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        )
    base, n = name, 1
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def deployment(
    name: str, images: Sequence[str], replicas: int = 1, port: int = -1, command: Sequence[str] = ()
) -> Obj:
    if not images:
        raise BadRequest('required flag(s) "image" not set')
    if len(images) > 1 and command:
        raise BadRequest("cannot specify multiple --image options and command")
    taken: set[str] = set()
    containers = []
    for i, image in enumerate(images):
        c: Obj = {}
        if command:
            c["command"] = list(command)
        c["image"] = image
        c["name"] = container_name(image, taken)
        if port >= 0 and i == 0:
            c["ports"] = [{"containerPort": port}]
        c["resources"] = {}
        containers.append(c)
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {},
            "template": {"metadata": _meta_no_name(labels), "spec": {"containers": containers}},
        },
        "status": {},
    }


def _meta_no_name(labels: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"creationTimestamp": None}
    if labels:
        meta["labels"] = dict(labels)
    return meta


def job(name: str, image: str, command: Sequence[str] = ()) -> Obj:
    if not image:
        raise BadRequest("--image must be specified")
    c: Obj = {}
    if command:
        c["command"] = list(command)
    c.update({"image": image, "name": name, "resources": {}})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(name),
        "spec": {
            "template": {"metadata": _meta_no_name(), "spec": {"containers": [c], "restartPolicy": "Never"}}
        },
        "status": {},
    }


def _key_value(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise BadRequest(f"invalid {flag}: {text!r}, expected key=value")
    return key, value


def _env_file(path: str) -> list[tuple[str, str]]:
    pairs = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise BadRequest(f'{path}: line {n}: "{line}" is not a valid key=value line')
        pairs.append((key, value))
    return pairs


def _files(sources: Sequence[str]) -> list[tuple[str, bytes]]:
    out = []
    for source in sources:
        key, sep, path = source.partition("=")
        if not sep:
            key, path = Path(source).name, source
        p = Path(path)
        if p.is_dir():
            out.extend((f.name, f.read_bytes()) for f in sorted(p.iterdir()) if f.is_file())
        elif p.is_file():
            out.append((key, p.read_bytes()))
        else:
            raise BadRequest(f"error reading {path}: no such file or directory")
    return out


def key_values(
    literals: Sequence[str], files: Sequence[str], env_file: str | None
) -> list[tuple[str, bytes]]:
    """``--from-literal``, ``--from-file`` and ``--from-env-file`` as (key, bytes), duplicates refused."""
    if env_file and (literals or files):
        raise BadRequest("from-env-file cannot be combined with from-file or from-literal")
    pairs: list[tuple[str, bytes]] = []
    if env_file:
        pairs = [(k, v.encode()) for k, v in _env_file(env_file)]
    pairs += [(k, v.encode()) for k, v in (_key_value(lit, "--from-literal") for lit in literals)]
    pairs += _files(files)
    seen: set[str] = set()
    for key, _ in pairs:
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
            raise BadRequest(
                f'"{key}" is not a valid key name: a valid config key must consist of alphanumeric '
                'characters, "-", "_" or "."'
            )
        if key in seen:
            raise BadRequest(f'cannot add key "{key}", another key by that name already exists')
        seen.add(key)
    return pairs


def config_map(name: str, literals: Sequence[str], files: Sequence[str], env_file: str | None) -> Obj:
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    for key, value in key_values(literals, files, env_file):
        try:
            data[key] = value.decode()
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(value).decode()
    obj: Obj = {"apiVersion": "v1"}
    if binary:
        obj["binaryData"] = dict(sorted(binary.items()))
    if data:
        obj["data"] = dict(sorted(data.items()))
    obj.update({"kind": "ConfigMap", "metadata": _meta(name)})
    return obj


def secret(
    name: str, literals: Sequence[str], files: Sequence[str], env_file: str | None, type_: str = ""
) -> Obj:
    data = {k: base64.b64encode(v).decode() for k, v in key_values(literals, files, env_file)}
    obj: Obj = {"apiVersion": "v1"}
    if data:
        obj["data"] = dict(sorted(data.items()))
    obj.update({"kind": "Secret", "metadata": _meta(name)})
    if type_:
        obj["type"] = type_
    return obj


SERVICE_TYPES = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer"}


def _port(text: str, what: str) -> int | str:
    if text.isdigit():
        return int(text)
    if what == "target" and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", text):
        return text
    raise BadRequest(f"invalid {what} port: {text!r}")


def service(kind: str, name: str, tcp: Sequence[str], node_port: int = 0, cluster_ip: str = "") -> Obj:
    """``create service clusterip|nodeport|loadbalancer NAME --tcp=PORT[:TARGET]``."""
    stype = SERVICE_TYPES.get(kind.lower())
    if stype is None:
        raise BadRequest(f'unknown service type "{kind}": expected clusterip, nodeport or loadbalancer')
    if not tcp and not (stype == "ClusterIP" and cluster_ip == "None"):
        raise BadRequest("at least one tcp port specifier must be provided")
    ports = []
    for spec in tcp:
        port_text, sep, target_text = spec.partition(":")
        port = _port(port_text, "service")
        target = _port(target_text, "target") if sep else port
        p: Obj = {"name": spec.replace(":", "-"), "port": port, "protocol": "TCP", "targetPort": target}
        if node_port and stype == "NodePort":
            p["nodePort"] = node_port
        ports.append(dict(sorted(p.items())))
    spec_obj: Obj = {}
    if cluster_ip:
        spec_obj["clusterIP"] = cluster_ip
    spec_obj.update({"ports": ports, "selector": {"app": name}, "type": stype})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, {"app": name}),
        "spec": spec_obj,
        "status": {"loadBalancer": {}},
    }


def pod(
    name: str,
    image: str,
    *,
    args: Sequence[str] = (),
    command: bool = False,
    env: Sequence[str] = (),
    port: str = "",
    labels: str = "",
    restart: str = "Always",
    image_pull_policy: str = "",
) -> Obj:
    """``run NAME --image=I [--env K=V] [--port P] [--labels a=b] [--restart R] [--command] -- ARGS``."""
    if not image:
        raise BadRequest("--image is required")
    if restart not in ("Always", "OnFailure", "Never"):
        raise BadRequest(f"invalid restart policy: {restart}")
    label_map = {"run": name}
    if labels:
        label_map = dict(_key_value(pair, "--labels") for pair in labels.split(","))
    c: Obj = {}
    if args:
        c["command" if command else "args"] = list(args)
    if env:
        c["env"] = [dict(zip(("name", "value"), _key_value(e, "--env"), strict=True)) for e in env]
    c["image"] = image
    if image_pull_policy:
        c["imagePullPolicy"] = image_pull_policy
    c["name"] = name
    if port:
        if not port.isdigit():
            raise BadRequest(f"invalid --port: {port!r}")
        c["ports"] = [{"containerPort": int(port)}]
    c["resources"] = {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(name, label_map),
        "spec": {"containers": [c], "dnsPolicy": "ClusterFirst", "restartPolicy": restart},
        "status": {},
    }


EXPOSABLE = ("Pod", "Service", "ReplicationController", "Deployment", "ReplicaSet")


def selector_labels(obj: Obj) -> dict[str, str]:
    """The labels a Service must select to reach ``obj``'s pods (kubectl's MapBasedSelectorForObject)."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if not labels:
            raise BadRequest("the pod has no labels and cannot be exposed")
        return dict(labels)
    if kind in ("Service", "ReplicationController"):
        selector = spec.get("selector") or {}
        if not selector:
            raise BadRequest(f"the {str(kind).lower()} has no selector and cannot be exposed")
        return dict(selector)
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        selector = spec.get("selector") or {}
        if selector.get("matchExpressions"):
            raise BadRequest(
                'couldn\'t convert expressions - "&LabelSelector{...}" to map: '
                "cannot expose a selector with matchExpressions"
            )
        return dict(selector.get("matchLabels") or {})
    raise BadRequest(f"cannot expose a {kind}")


def container_ports(obj: Obj) -> list[Obj]:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Service":
        return [
            {"containerPort": p.get("port"), "name": p.get("name"), "protocol": p.get("protocol")}
            for p in spec.get("ports") or []
        ]
    pod_spec = spec if kind == "Pod" else ((spec.get("template") or {}).get("spec") or {})
    return [p for c in pod_spec.get("containers") or [] for p in c.get("ports") or []]


def expose(
    obj: Obj,
    *,
    name: str = "",
    port: str = "",
    target_port: str = "",
    protocol: str = "",
    type_: str = "",
    external_ip: str = "",
    selector: str = "",
    labels: str = "",
) -> Obj:
    """``expose TYPE NAME [--port] [--target-port] [--type] ...``: a Service that reaches ``obj``'s pods."""
    meta = obj.get("metadata") or {}
    sel = dict(_key_value(p, "--selector") for p in selector.split(",")) if selector else selector_labels(obj)
    if port:
        ports = [{"port": int(port) if port.isdigit() else _bad_port(port), "protocol": protocol or "TCP"}]
    else:
        found = container_ports(obj)
        if not found:
            raise BadRequest("couldn't find port via --port flag or introspection")
        ports = []
        for i, p in enumerate(found):
            entry: Obj = {"port": p.get("containerPort"), "protocol": protocol or p.get("protocol") or "TCP"}
            if len(found) > 1:
                entry["name"] = p.get("name") or f"port-{i + 1}"
            ports.append(entry)
    for p in ports:
        target = target_port or (str(p["port"]) if not port else "")
        if target:
            p["targetPort"] = int(target) if target.isdigit() else target
        elif obj.get("kind") == "Service":
            p["targetPort"] = p["port"]
        else:
            p["targetPort"] = p["port"]
    spec: Obj = {"ports": [dict(sorted(p.items())) for p in ports], "selector": sel}
    if type_:
        canonical = {t.lower(): t for t in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")}.get(
            type_.lower()
        )
        if canonical is None:
            raise BadRequest(
                f'Unsupported value: "{type_}": supported values: '
                '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'
            )
        spec["type"] = canonical
    if external_ip:
        spec["externalIPs"] = [external_ip]
    label_map = (
        dict(_key_value(p, "--labels") for p in labels.split(","))
        if labels
        else dict(meta.get("labels") or {})
    )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name or str(meta.get("name") or ""), label_map or None),
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def _bad_port(port: str) -> int:
    raise BadRequest(f"invalid --port {port!r}: must be a number")
