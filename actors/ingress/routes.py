"""The ingress routing table: pure functions, no I/O.

``compile_routes(ingresses, classes)`` turns the Ingresses this controller serves into a
:class:`RouteTable`; ``table.match(host, path)`` names the :class:`Backend` for one request, and
``upstreams(backend, service, endpoints)`` lists the ready ``(ip, port)`` pairs behind it.

Kubernetes' semantics (networking.k8s.io/v1, and ingress-nginx where the API leaves it open):

- **Hosts.** A rule's host is exact (``a.example.com``), a one-label wildcard (``*.example.com``
  matches ``b.example.com``, not ``example.com`` nor ``c.b.example.com``) or empty (any host). The
  most specific host that has rules is chosen (exact, then the wildcard, then the hostless
  rules); its paths alone decide, as ingress-nginx picks one server block per host. The request's
  host is the Host header without its port, lowercased.
- **Paths.** ``Exact`` matches the path exactly. ``Prefix`` matches by path elements split on
  ``/``: ``/foo`` matches ``/foo``, ``/foo/`` and ``/foo/bar``, not ``/foobar``; a trailing slash
  in the rule is ignored. ``ImplementationSpecific`` is treated as ``Prefix`` here. An Exact match
  beats any Prefix; among Prefixes the longest wins.
- **Conflicts.** The same host, path and type in two Ingresses: the older Ingress (creation time,
  then namespace/name) wins. The default backend is the oldest Ingress's ``spec.defaultBackend``,
  used when no rule matches.
- **Classes.** An Ingress is served when it names no class (``spec.ingressClassName``, else the
  ``kubernetes.io/ingress.class`` annotation), names ``jetkube``, or names an IngressClass whose
  ``spec.controller`` is ``jetkube.io/ingress``.
- **Backends.** Only service backends are served; a ``resource`` backend is skipped (logged by
  the caller via :attr:`RouteTable.skipped`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CONTROLLER_NAME = "jetkube.io/ingress"
CLASS_NAME = "jetkube"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"

Obj = dict[str, Any]


@dataclass(frozen=True)
class Backend:
    namespace: str
    service: str
    port: int | str  # the Service's port: its number, or its name
    ingress: str = ""  # namespace/name of the Ingress that routes here (logs, headers)


@dataclass(frozen=True)
class Route:
    path: str  # normalized: no trailing slash except "/" itself
    path_type: str  # Exact | Prefix
    backend: Backend
    order: tuple[str, str]  # (creationTimestamp, namespace/name): older first

    def matches(self, path: str) -> bool:
        if self.path_type == "Exact":
            return path == self.path
        return prefix_matches(self.path, path)


def prefix_matches(prefix: str, path: str) -> bool:
    """``Prefix`` by path elements: ``/foo`` matches ``/foo``, ``/foo/``, ``/foo/bar``; not ``/foobar``."""
    if prefix == "/":
        return True
    return path == prefix or path.startswith(prefix + "/")


def _normal_prefix(path: str) -> str:
    path = path or "/"
    stripped = path.rstrip("/")
    return stripped or "/"


@dataclass
class RouteTable:
    exact_hosts: dict[str, list[Route]] = field(default_factory=dict)
    wildcard_hosts: dict[str, list[Route]] = field(default_factory=dict)  # ".example.com" -> routes
    any_host: list[Route] = field(default_factory=list)
    default: Backend | None = None
    skipped: list[str] = field(default_factory=list)  # why some rules are not served

    def routes_for(self, host: str) -> list[Route] | None:
        """The routes of the most specific host that has any; None when no rule covers ``host``."""
        host = normal_host(host)
        routes = self.exact_hosts.get(host)
        if routes is not None:
            return routes
        dot = host.find(".")
        if dot > 0:
            routes = self.wildcard_hosts.get(host[dot:])
            if routes is not None:
                return routes
        return self.any_host or None

    def match(self, host: str, path: str) -> Backend | None:
        """The backend of a request for ``host`` and ``path`` (no query); None means 404."""
        path = path.split("?", 1)[0] or "/"
        routes = self.routes_for(host)
        for route in routes or ():
            if route.matches(path):  # sorted: Exact first, then longest prefix, then oldest
                return route.backend
        return self.default

    def hosts(self) -> list[str]:
        return sorted(self.exact_hosts) + sorted("*" + s for s in self.wildcard_hosts)


def normal_host(host: str) -> str:
    """The Host header's name: lowercased, without a port (``[::1]:80`` -> ``[::1]``)."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def class_of(ingress: Obj) -> str | None:
    spec = ingress.get("spec") or {}
    name = spec.get("ingressClassName")
    if name:
        return str(name)
    annotated = ((ingress.get("metadata") or {}).get("annotations") or {}).get(CLASS_ANNOTATION)
    return str(annotated) if annotated else None


def serves(ingress: Obj, classes: Mapping[str, str]) -> bool:
    """Whether this controller serves ``ingress``; ``classes`` maps IngressClass name -> controller."""
    name = class_of(ingress)
    return name is None or name == CLASS_NAME or classes.get(name) == CONTROLLER_NAME


def _backend(raw: Any, namespace: str, ingress: str) -> Backend | None:
    service = (raw or {}).get("service") if isinstance(raw, dict) else None
    if not service or not service.get("name"):
        return None
    port = service.get("port") or {}
    ref: int | str = port.get("name") or int(port.get("number") or 0)
    return Backend(namespace, str(service["name"]), ref, ingress)


def _order(ingress: Obj) -> tuple[str, str]:
    meta = ingress.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), f"{meta.get('namespace')}/{meta.get('name')}")


def _sort_key(route: Route) -> tuple[int, int, tuple[str, str]]:
    return (0 if route.path_type == "Exact" else 1, -len(route.path), route.order)


def compile_routes(ingresses: Iterable[Obj], classes: Mapping[str, str] | None = None) -> RouteTable:
    """The table for every Ingress this controller serves (a pure function of its inputs)."""
    table = RouteTable()
    classes = classes or {}
    defaults: list[tuple[tuple[str, str], Backend]] = []
    seen: set[tuple[str, str, str]] = set()
    for ing in sorted((i for i in ingresses if serves(i, classes)), key=_order):
        meta = ing.get("metadata") or {}
        namespace = str(meta.get("namespace") or "default")
        key = f"{namespace}/{meta.get('name')}"
        order = _order(ing)
        spec = ing.get("spec") or {}
        if spec.get("defaultBackend") is not None:
            backend = _backend(spec["defaultBackend"], namespace, key)
            if backend is None:
                table.skipped.append(f"{key}: spec.defaultBackend is not a service backend")
            else:
                defaults.append((order, backend))
        for i, rule in enumerate(spec.get("rules") or ()):
            host = normal_host(str(rule.get("host") or ""))
            for j, item in enumerate((rule.get("http") or {}).get("paths") or ()):
                backend = _backend(item.get("backend"), namespace, key)
                if backend is None:
                    table.skipped.append(f"{key}: spec.rules[{i}].http.paths[{j}] is not a service backend")
                    continue
                ptype = "Exact" if item.get("pathType") == "Exact" else "Prefix"
                path = str(item.get("path") or "/") if ptype == "Exact" else _normal_prefix(item.get("path"))
                if (host, path, ptype) in seen:
                    continue  # an older Ingress has it
                seen.add((host, path, ptype))
                route = Route(path, ptype, backend, order)
                if not host:
                    table.any_host.append(route)
                elif host.startswith("*."):
                    table.wildcard_hosts.setdefault(host[1:], []).append(route)
                else:
                    table.exact_hosts.setdefault(host, []).append(route)
    for routes in (table.any_host, *table.exact_hosts.values(), *table.wildcard_hosts.values()):
        routes.sort(key=_sort_key)
    if defaults:
        table.default = min(defaults, key=lambda d: d[0])[1]
    return table


# ------------------------------------------------------------------------------------ upstreams


@dataclass(frozen=True)
class NoUpstream:
    """Why a backend has nowhere to send the request (the proxy answers 503 with this)."""

    reason: str


def service_port(service: Obj, ref: int | str) -> Obj | None:
    for port in (service.get("spec") or {}).get("ports") or ():
        if (isinstance(ref, str) and port.get("name") == ref) or (
            isinstance(ref, int) and port.get("port") == ref
        ):
            if (port.get("protocol") or "TCP") == "TCP":
                return dict(port)
    return None


def upstreams(
    backend: Backend, service: Obj | None, endpoints: Obj | None
) -> list[tuple[str, int]] | NoUpstream:
    """The ready ``(pod IP, target port)`` pairs behind ``backend``, in a stable order.

    The Service port (by number or name) names the endpoint port: Endpoints ports carry the
    Service port's name (empty for a Service with one unnamed port), and their number is the
    resolved ``targetPort`` (named container ports included)."""
    where = f"{backend.namespace}/{backend.service}"
    if service is None:
        return NoUpstream(f'service "{where}" not found')
    sport = service_port(service, backend.port)
    if sport is None:
        return NoUpstream(f'service "{where}" has no TCP port {backend.port}')
    name = sport.get("name") or ""
    found: list[tuple[str, int]] = []
    for subset in (endpoints or {}).get("subsets") or ():
        ports = [p for p in subset.get("ports") or () if (p.get("name") or "") == name]
        if not ports:
            continue
        number = int(ports[0]["port"])
        for addr in subset.get("addresses") or ():
            found.append((str(addr["ip"]), number))
    if not found:
        return NoUpstream(f'service "{where}" has no ready endpoints')
    return sorted(set(found))
