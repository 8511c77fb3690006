"""Build the engine's create-container bodies for a pod's sandbox and its containers. No I/O.

A pod is one *sandbox* (the infra container, running pause, which owns the network namespace,
the hostname, DNS settings and published hostPorts) plus one Docker container per app/init
container joined to it with ``NetworkMode``/``IpcMode`` = ``container:<sandbox id>`` (and
``PidMode`` too when the pod shares its process namespace). So containers of one pod reach each
other on localhost and see one hostname, as the seed says.

Kubernetes' command/args map onto Docker's Entrypoint/Cmd: ``command`` replaces the image's
ENTRYPOINT (and then the image's CMD is dropped), ``args`` replaces its CMD.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from actors.kubelet import labels as L
from actors.kubelet import naming
from actors.kubelet.ports import PortMapping, port_config
from actors.kubelet.resources import effective_security, host_config_resources, security_config
from actors.kubelet.types import DnsSettings, Mount

PAUSE_IMAGE = "jetkube/pause:latest"
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"


def sandbox_config(
    *,
    node: str,
    namespace: str,
    pod_name: str,
    pod_uid: str,
    hostname: str,
    ports: Iterable[PortMapping] = (),
    dns: DnsSettings | None = None,
    network: str | None = None,
    attempt: int = 0,
    image: str = PAUSE_IMAGE,
    extra_labels: Mapping[str, str] | None = None,
    ip: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """(container name, create body) for a pod's infra container. ``ip``: the address to ask the
    network for (only on a user-defined network: Docker's default bridge refuses one)."""
    name = naming.container_name(node, namespace, pod_name, L.SANDBOX_CONTAINER_NAME, pod_uid, attempt)
    labels = {**(extra_labels or {}), **L.sandbox_labels(node, namespace, pod_name, pod_uid, attempt)}
    net = network or "bridge"
    host: dict[str, Any] = {
        "NetworkMode": net,
        "IpcMode": "shareable",
        "RestartPolicy": {"Name": "no"},
    }
    config: dict[str, Any] = {"Image": image, "Labels": labels, "HostConfig": host}
    if net != "host":
        config["Hostname"] = hostname[:63]
        exposed, bindings = port_config(ports)
        if exposed:
            config["ExposedPorts"] = exposed
            host["PortBindings"] = bindings
        if dns is not None:
            if dns.servers:
                host["Dns"] = list(dns.servers)
            if dns.searches:
                host["DnsSearch"] = list(dns.searches)
            if dns.options:
                host["DnsOptions"] = list(dns.options)
        if ip and net not in ("bridge", "none") and not net.startswith("container:"):
            config["NetworkingConfig"] = {"EndpointsConfig": {net: {"IPAMConfig": {"IPv4Address": ip}}}}
    return name, config


def bind_spec(m: Mount) -> str:
    opts = ["ro" if m.read_only else "rw"]
    if m.propagation:
        opts.append(m.propagation)
    return f"{m.host_path}:{m.container_path}:{','.join(opts)}"


def env_list(env: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> list[str]:
    items = env.items() if isinstance(env, Mapping) else (env or [])
    return [f"{k}={v}" for k, v in items]


def container_config(
    *,
    node: str,
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    sandbox_id: str,
    attempt: int,
    env: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    mounts: Iterable[Mount] = (),
    termination_message_host_path: str | None = None,
    resources: Mapping[str, Any] | None = None,
    security: Mapping[str, Any] | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """(container name, create body) for one of the pod's containers, joined to its sandbox.

    ``env`` is the already-resolved environment (the kubelet resolves valueFrom/envFrom); when
    None, the container's literal ``env[].value`` entries are used. ``resources``/``security``
    default to the container's own ``resources``/``securityContext`` (merged over the pod's)."""
    meta = pod.get("metadata") or {}
    pod_spec = pod.get("spec") or {}
    namespace = str(meta.get("namespace") or "default")
    pod_name = str(meta.get("name") or "")
    pod_uid = str(meta.get("uid") or "")
    cname = str(container["name"])
    tmp = container.get("terminationMessagePath", DEFAULT_TERMINATION_MESSAGE_PATH)
    tmp = tmp if termination_message_host_path else ""
    name = naming.container_name(node, namespace, pod_name, cname, pod_uid, attempt)
    labels = L.container_labels(
        node,
        namespace,
        pod_name,
        pod_uid,
        cname,
        attempt,
        sandbox_id=sandbox_id,
        termination_message_path=tmp,
        extra=extra_labels,
    )
    if env is None:
        env = [
            (e["name"], str(e.get("value", ""))) for e in container.get("env") or [] if "valueFrom" not in e
        ]
    joined = f"container:{sandbox_id}"
    host: dict[str, Any] = {
        "NetworkMode": joined,
        "IpcMode": joined,
        "RestartPolicy": {"Name": "no"},
    }
    if pod_spec.get("shareProcessNamespace"):
        host["PidMode"] = joined
    binds = [bind_spec(m) for m in mounts]
    if termination_message_host_path and tmp:
        binds.append(f"{termination_message_host_path}:{tmp}:rw")
    if binds:
        host["Binds"] = binds
    host.update(host_config_resources(resources if resources is not None else container.get("resources")))
    sc = (
        security
        if security is not None
        else effective_security(pod_spec.get("securityContext"), container.get("securityContext"))
    )
    sec_config, sec_host = security_config(sc)
    host.update(sec_host)
    config: dict[str, Any] = {
        "Image": container["image"],
        "Env": env_list(env),
        "Labels": labels,
        "Tty": bool(container.get("tty")),
        "OpenStdin": bool(container.get("stdin")),
        "StdinOnce": bool(container.get("stdinOnce")),
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "HostConfig": host,
        **sec_config,
    }
    if container.get("command"):
        config["Entrypoint"] = [str(a) for a in container["command"]]
        config["Cmd"] = [str(a) for a in container.get("args") or []]
    elif container.get("args"):
        config["Cmd"] = [str(a) for a in container["args"]]
    if container.get("workingDir"):
        config["WorkingDir"] = str(container["workingDir"])
    return name, config
