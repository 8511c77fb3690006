"""Pure decisions of the endpoints controller: Service + pods -> the Endpoints object it should have.

As Kubernetes' endpoints controller (``pkg/controller/endpoint``):

- only a Service with a non-empty ``spec.selector`` is managed; the pods are those of its namespace
  whose labels match the selector;
- a pod with no ``status.podIP`` is skipped, and so is a terminating pod (``deletionTimestamp``)
  unless the Service sets ``publishNotReadyAddresses``; a pod that has finished for good
  (``Succeeded``, or ``Failed`` with ``restartPolicy: Never``; ``Succeeded`` with ``OnFailure``) is
  skipped too;
- a ready pod (condition ``Ready`` is ``True``, or the Service publishes not-ready addresses) goes to
  ``addresses``, any other to ``notReadyAddresses``; each address carries ``nodeName`` and a
  ``targetRef`` to the pod (kind, namespace, name, uid), plus ``hostname`` when the pod's
  ``spec.hostname`` is set and its ``spec.subdomain`` names the Service;
- each Service port becomes an endpoint port ``{name, port, protocol}`` whose number comes from
  ``targetPort``: a number is used as is, a name is looked up among the pod's container ports (same
  name and protocol). A pod whose container has no such named port is left out of that port only;
- addresses are grouped in subsets by their exact set of ports (``RepackSubsets``), so pods that give
  a named port different numbers land in different subsets. A headless Service without ports puts
  every address in one port-less subset.

Everything is sorted (addresses by IP then uid, ports by name/port/protocol, subsets by ports) so the
result is a function of the state and the controller can skip writes when nothing changed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from schemas.labels import selector_from_map

HEADLESS_LABEL = "service.kubernetes.io/headless"


def selector_matches(selector: dict[str, str], labels: dict[str, str] | None) -> bool:
    """A Service selector (plain equality map) against a pod's labels. Empty selects nothing here."""
    return bool(selector) and selector_from_map(selector).matches(labels)


def is_pod_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def should_pod_be_in_endpoints(pod: dict[str, Any], include_terminating: bool) -> bool:
    """Kubernetes' ``ShouldPodBeInEndpoints``."""
    status = pod.get("status") or {}
    if not status.get("podIP"):
        return False
    if not include_terminating and (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    phase = status.get("phase")
    if policy == "Never":
        return phase not in ("Failed", "Succeeded")
    if policy == "OnFailure":
        return phase != "Succeeded"
    return True


class PortNotFound(LookupError):
    pass


def find_port(pod: dict[str, Any], service_port: dict[str, Any]) -> int:
    """The pod's port number for a Service port (Kubernetes' ``podutil.FindPort``)."""
    target = service_port.get("targetPort")
    if target is None or target == "" or target == 0:
        target = service_port.get("port")
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or []:
        for cport in container.get("ports") or []:
            if cport.get("name") == target and (cport.get("protocol") or "TCP") == protocol:
                return int(cport["containerPort"])
    raise PortNotFound(f"no suitable port for manifest: {(pod.get('metadata') or {}).get('uid')}")


def _address(pod: dict[str, Any], service: dict[str, Any]) -> dict[str, Any]:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    addr: dict[str, Any] = {"ip": pod["status"]["podIP"]}
    smeta = service.get("metadata") or {}
    if spec.get("hostname") and spec.get("subdomain") == smeta.get("name"):
        addr["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        addr["nodeName"] = spec["nodeName"]
    addr["targetRef"] = {
        "kind": "Pod",
        "namespace": meta.get("namespace") or smeta.get("namespace") or "default",
        "name": meta.get("name"),
        "uid": meta.get("uid"),
    }
    return addr


def _addr_key(addr: dict[str, Any]) -> tuple[str, str]:
    return (addr["ip"], (addr.get("targetRef") or {}).get("uid") or "")


def _port_key(port: dict[str, Any]) -> tuple[str, int, str]:
    return (port.get("name") or "", port["port"], port.get("protocol") or "TCP")


@dataclass
class _Group:
    ports: list[dict[str, Any]]
    addresses: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    not_ready: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def is_headless(service: dict[str, Any]) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def compute_subsets(service: dict[str, Any], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``subsets`` of the Service's Endpoints, given every pod of its namespace (or a superset)."""
    spec = service.get("spec") or {}
    selector = spec.get("selector") or {}
    namespace = (service.get("metadata") or {}).get("namespace") or "default"
    publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
    service_ports = spec.get("ports") or []
    groups: dict[tuple[tuple[str, int, str], ...], _Group] = {}

    for pod in pods:
        meta = pod.get("metadata") or {}
        if (meta.get("namespace") or "default") != namespace:
            continue
        if not selector_matches(selector, meta.get("labels")):
            continue
        if not should_pod_be_in_endpoints(pod, include_terminating=publish_not_ready):
            continue
        ports: list[dict[str, Any]] = []
        for sp in service_ports:
            try:
                number = find_port(pod, sp)
            except PortNotFound:
                continue
            ep: dict[str, Any] = {"port": number, "protocol": sp.get("protocol") or "TCP"}
            if sp.get("name"):
                ep = {"name": sp["name"], **ep}
            if sp.get("appProtocol"):
                ep["appProtocol"] = sp["appProtocol"]
            ports.append(ep)
        if service_ports and not ports:
            continue  # no port of this pod serves the Service
        if not service_ports and not is_headless(service):
            continue  # Kubernetes only keeps port-less addresses for headless services
        ports.sort(key=_port_key)
        gkey = tuple(_port_key(p) for p in ports)
        group = groups.setdefault(gkey, _Group(ports=ports))
        addr = _address(pod, service)
        if publish_not_ready or is_pod_ready(pod):
            group.addresses[_addr_key(addr)] = addr
        else:
            group.not_ready[_addr_key(addr)] = addr

    subsets: list[dict[str, Any]] = []
    for gkey in sorted(groups):
        group = groups[gkey]
        subset: dict[str, Any] = {}
        if group.addresses:
            subset["addresses"] = [group.addresses[k] for k in sorted(group.addresses)]
        if group.not_ready:
            subset["notReadyAddresses"] = [group.not_ready[k] for k in sorted(group.not_ready)]
        if group.ports:
            subset["ports"] = group.ports
        subsets.append(subset)
    return subsets


def desired_labels(service: dict[str, Any]) -> dict[str, str]:
    labels = dict((service.get("metadata") or {}).get("labels") or {})
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    else:
        labels.pop(HEADLESS_LABEL, None)
    return labels


@dataclass(frozen=True)
class CreateEndpoints:
    endpoints: dict[str, Any]


@dataclass(frozen=True)
class UpdateEndpoints:
    endpoints: dict[str, Any]  # a modified deep copy of the current object (keeps resourceVersion)


@dataclass(frozen=True)
class DeleteEndpoints:
    namespace: str
    name: str


Action = CreateEndpoints | UpdateEndpoints | DeleteEndpoints


def plan(
    service: dict[str, Any] | None,
    pods: list[dict[str, Any]],
    existing: dict[str, Any] | None,
    *,
    namespace: str,
    name: str,
) -> list[Action]:
    """What to do for the Service ``namespace/name``: at most one action, none if up to date.

    ``service`` None means the Service is gone: its Endpoints (same name) is deleted, as Kubernetes
    does. A Service without a selector is left alone: its Endpoints belong to the user.
    """
    if service is None:
        return [DeleteEndpoints(namespace, name)] if existing is not None else []
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return []
    subsets = compute_subsets(service, pods)
    labels = desired_labels(service)
    if existing is None:
        endpoints: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": namespace},
            "subsets": subsets,
        }
        if labels:
            endpoints["metadata"]["labels"] = labels
        return [CreateEndpoints(endpoints)]
    current_labels = (existing.get("metadata") or {}).get("labels") or {}
    if (existing.get("subsets") or []) == subsets and current_labels == labels:
        return []
    updated = copy.deepcopy(existing)
    updated["subsets"] = subsets
    if labels:
        updated.setdefault("metadata", {})["labels"] = labels
    else:
        updated.setdefault("metadata", {}).pop("labels", None)
    return [UpdateEndpoints(updated)]
