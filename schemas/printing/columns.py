"""kubectl's columns for each kind (``get`` tables), keyed by the resource's plural.

A column is a header, a function of (object, now) and whether only ``-o wide`` shows it. Kinds
without an entry get NAME and AGE, as kubectl prints for kinds it has no printer for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.printing import hpa
from schemas.printing.age import age, between, human_duration, parse_time
from schemas.printing.podstatus import pod_ready, pod_restarts, pod_status_reason, readiness_gates

Obj = dict[str, Any]
CellFn = Callable[[Obj, datetime], str]


@dataclass(frozen=True)
class Column:
    header: str
    cell: CellFn
    wide: bool = False


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(key)
        if obj is None:
            return default
    return obj


def _none(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "<none>"
    return str(value)


def _num(value: Any) -> str:
    return str(value if value is not None else 0)


def name_cell(obj: Obj, _now: datetime) -> str:
    return str(_get(obj, "metadata", "name", default=""))


def age_cell(obj: Obj, now: datetime) -> str:
    return age(_get(obj, "metadata", "creationTimestamp"), now)


def format_labels(labels: dict[str, str] | None) -> str:
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_selector(selector: dict[str, Any] | None) -> str:
    """A label selector (``matchLabels``/``matchExpressions`` or a plain map) as text."""
    if not selector:
        return "<none>"
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return format_labels(selector)
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or "<none>"


def _containers(obj: Obj, _now: datetime) -> str:
    return ",".join(
        c.get("name", "") for c in _get(obj, "spec", "template", "spec", "containers", default=[])
    )


def _images(obj: Obj, _now: datetime) -> str:
    return ",".join(
        c.get("image", "") for c in _get(obj, "spec", "template", "spec", "containers", default=[])
    )


def _selector(obj: Obj, _now: datetime) -> str:
    return format_selector(_get(obj, "spec", "selector"))


WORKLOAD_WIDE = [
    Column("CONTAINERS", _containers, True),
    Column("IMAGES", _images, True),
    Column("SELECTOR", _selector, True),
]

# --------------------------------------------------------------------------------------------- pods


def _pod_ip(obj: Obj, _now: datetime) -> str:
    return _none(_get(obj, "status", "podIP"))


PODS = [
    Column("READY", lambda o, n: pod_ready(o)),
    Column("STATUS", lambda o, n: pod_status_reason(o)),
    Column("RESTARTS", pod_restarts),
    Column("AGE", age_cell),
    Column("IP", _pod_ip, True),
    Column("NODE", lambda o, n: _none(_get(o, "spec", "nodeName")), True),
    Column("NOMINATED NODE", lambda o, n: _none(_get(o, "status", "nominatedNodeName")), True),
    Column("READINESS GATES", lambda o, n: readiness_gates(o), True),
]

# -------------------------------------------------------------------------------------------- nodes


def node_status(obj: Obj) -> str:
    parts = []
    for cond in _get(obj, "status", "conditions", default=[]):
        if cond.get("type") == "Ready":
            parts.append("Ready" if cond.get("status") == "True" else "NotReady")
            break
    if not parts:
        parts.append("Unknown")
    if _get(obj, "spec", "unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(obj: Obj) -> str:
    roles = set()
    for key, value in (_get(obj, "metadata", "labels", default={}) or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key.split("/", 1)[1]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(obj: Obj, kind: str) -> str:
    for addr in _get(obj, "status", "addresses", default=[]):
        if addr.get("type") == kind:
            return str(addr.get("address"))
    return "<none>"


NODES = [
    Column("STATUS", lambda o, n: node_status(o)),
    Column("ROLES", lambda o, n: node_roles(o)),
    Column("AGE", age_cell),
    Column("VERSION", lambda o, n: str(_get(o, "status", "nodeInfo", "kubeletVersion", default=""))),
    Column("INTERNAL-IP", lambda o, n: _node_address(o, "InternalIP"), True),
    Column("EXTERNAL-IP", lambda o, n: _node_address(o, "ExternalIP"), True),
    Column("OS-IMAGE", lambda o, n: _none(_get(o, "status", "nodeInfo", "osImage")), True),
    Column("KERNEL-VERSION", lambda o, n: _none(_get(o, "status", "nodeInfo", "kernelVersion")), True),
    Column(
        "CONTAINER-RUNTIME",
        lambda o, n: _none(_get(o, "status", "nodeInfo", "containerRuntimeVersion")),
        True,
    ),
]

# ----------------------------------------------------------------------------------------- services


def service_external_ip(obj: Obj) -> str:
    spec = obj.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if stype == "ExternalName":
        return str(spec.get("externalName") or "<none>")
    if stype == "LoadBalancer":
        ingress = _get(obj, "status", "loadBalancer", "ingress", default=[])
        ips = [i.get("ip") or i.get("hostname") for i in ingress] + external
        return ",".join(str(x) for x in ips if x) or "<pending>"
    return ",".join(external) or "<none>"


def service_ports(obj: Obj) -> str:
    parts = []
    for port in _get(obj, "spec", "ports", default=[]):
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol') or 'TCP'}")
    return ",".join(parts) or "<none>"


SERVICES = [
    Column("TYPE", lambda o, n: str(_get(o, "spec", "type", default="ClusterIP"))),
    Column("CLUSTER-IP", lambda o, n: _none(_get(o, "spec", "clusterIP"))),
    Column("EXTERNAL-IP", lambda o, n: service_external_ip(o)),
    Column("PORT(S)", lambda o, n: service_ports(o)),
    Column("AGE", age_cell),
    Column("SELECTOR", lambda o, n: format_labels(_get(o, "spec", "selector")), True),
]

# ---------------------------------------------------------------------------------------- workloads

DEPLOYMENTS = [
    Column(
        "READY",
        lambda o, n: f"{_num(_get(o, 'status', 'readyReplicas'))}/{_num(_get(o, 'spec', 'replicas'))}",
    ),
    Column("UP-TO-DATE", lambda o, n: _num(_get(o, "status", "updatedReplicas"))),
    Column("AVAILABLE", lambda o, n: _num(_get(o, "status", "availableReplicas"))),
    Column("AGE", age_cell),
    *WORKLOAD_WIDE,
]

REPLICASETS = [
    Column("DESIRED", lambda o, n: _num(_get(o, "spec", "replicas"))),
    Column("CURRENT", lambda o, n: _num(_get(o, "status", "replicas"))),
    Column("READY", lambda o, n: _num(_get(o, "status", "readyReplicas"))),
    Column("AGE", age_cell),
    *WORKLOAD_WIDE,
]

DAEMONSETS = [
    Column("DESIRED", lambda o, n: _num(_get(o, "status", "desiredNumberScheduled"))),
    Column("CURRENT", lambda o, n: _num(_get(o, "status", "currentNumberScheduled"))),
    Column("READY", lambda o, n: _num(_get(o, "status", "numberReady"))),
    Column("UP-TO-DATE", lambda o, n: _num(_get(o, "status", "updatedNumberScheduled"))),
    Column("AVAILABLE", lambda o, n: _num(_get(o, "status", "numberAvailable"))),
    Column(
        "NODE SELECTOR",
        lambda o, n: format_labels(_get(o, "spec", "template", "spec", "nodeSelector")),
    ),
    Column("AGE", age_cell),
    *WORKLOAD_WIDE,
]


def job_completions(obj: Obj) -> str:
    succeeded = _num(_get(obj, "status", "succeeded"))
    completions = _get(obj, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = _get(obj, "spec", "parallelism", default=0)
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def job_duration(obj: Obj, now: datetime) -> str:
    start = _get(obj, "status", "startTime")
    if start is None:
        return ""
    done = _get(obj, "status", "completionTime")
    if done is None:
        started = parse_time(start)
        return human_duration((now - started).total_seconds()) if started else ""
    return between(start, done)


JOBS = [
    Column("COMPLETIONS", lambda o, n: job_completions(o)),
    Column("DURATION", job_duration),
    Column("AGE", age_cell),
    *WORKLOAD_WIDE,
]


def _last_schedule(obj: Obj, now: datetime) -> str:
    last = _get(obj, "status", "lastScheduleTime")
    return age(last, now) if last else "<none>"


CRONJOBS = [
    Column("SCHEDULE", lambda o, n: str(_get(o, "spec", "schedule", default=""))),
    Column("SUSPEND", lambda o, n: str(bool(_get(o, "spec", "suspend", default=False)))),
    Column("ACTIVE", lambda o, n: str(len(_get(o, "status", "active", default=[])))),
    Column("LAST SCHEDULE", _last_schedule),
    Column("AGE", age_cell),
    Column(
        "CONTAINERS",
        lambda o, n: ",".join(
            c.get("name", "")
            for c in _get(o, "spec", "jobTemplate", "spec", "template", "spec", "containers", default=[])
        ),
        True,
    ),
    Column(
        "IMAGES",
        lambda o, n: ",".join(
            c.get("image", "")
            for c in _get(o, "spec", "jobTemplate", "spec", "template", "spec", "containers", default=[])
        ),
        True,
    ),
    Column(
        "SELECTOR",
        lambda o, n: format_selector(_get(o, "spec", "jobTemplate", "spec", "selector")),
        True,
    ),
]

# ------------------------------------------------------------------------------------------- events


def event_last_seen(obj: Obj, now: datetime) -> str:
    last = obj.get("lastTimestamp") or obj.get("eventTime") or _get(obj, "metadata", "creationTimestamp")
    first = obj.get("firstTimestamp") or obj.get("eventTime") or last
    count = int(obj.get("count") or (_get(obj, "series", "count") or 1))
    text = age(last, now)
    if count > 1:
        text += f" (x{count} over {age(first, now)})"
    return text


def event_object(obj: Obj) -> str:
    ref = obj.get("involvedObject") or obj.get("regarding") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


EVENTS = [
    Column("LAST SEEN", event_last_seen),
    Column("TYPE", lambda o, n: str(o.get("type") or "")),
    Column("REASON", lambda o, n: str(o.get("reason") or "")),
    Column("OBJECT", lambda o, n: event_object(o)),
    Column("MESSAGE", lambda o, n: str(o.get("message") or o.get("note") or "").strip()),
]

# -------------------------------------------------------------------------------------------- other


def endpoints_text(obj: Obj, limit: int = 3) -> str:
    items = []
    for subset in obj.get("subsets") or []:
        ports = subset.get("ports") or []
        for addr in subset.get("addresses") or []:
            if ports:
                items.extend(f"{addr.get('ip')}:{p.get('port')}" for p in ports)
            else:
                items.append(str(addr.get("ip")))
    if not items:
        return "<none>"
    text = ",".join(items[:limit])
    if len(items) > limit:
        text += f" + {len(items) - limit} more..."
    return text


def _quota(obj: Obj, limits: bool) -> str:
    hard = _get(obj, "status", "hard", default=None) or _get(obj, "spec", "hard", default={})
    used = _get(obj, "status", "used", default={})
    parts = [
        f"{k}: {used.get(k, '0')}/{v}" for k, v in sorted(hard.items()) if k.startswith("limits.") == limits
    ]
    return ", ".join(parts)


TABLES: dict[str, list[Column]] = {
    "pods": PODS,
    "nodes": NODES,
    "services": SERVICES,
    "deployments": DEPLOYMENTS,
    "replicasets": REPLICASETS,
    "replicationcontrollers": REPLICASETS,
    "daemonsets": DAEMONSETS,
    "jobs": JOBS,
    "cronjobs": CRONJOBS,
    "horizontalpodautoscalers": [
        Column("REFERENCE", lambda o, n: hpa.reference(o)),
        Column("TARGETS", lambda o, n: hpa.targets(o)),
        Column("MINPODS", hpa.min_pods),
        Column("MAXPODS", hpa.max_pods),
        Column("REPLICAS", hpa.replicas),
        Column("AGE", age_cell),
    ],
    "events": EVENTS,
    "namespaces": [
        Column("STATUS", lambda o, n: str(_get(o, "status", "phase", default="Active"))),
        Column("AGE", age_cell),
    ],
    "configmaps": [
        Column("DATA", lambda o, n: str(len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
        Column("AGE", age_cell),
    ],
    "secrets": [
        Column("TYPE", lambda o, n: str(o.get("type") or "Opaque")),
        Column("DATA", lambda o, n: str(len(o.get("data") or {}) + len(o.get("stringData") or {}))),
        Column("AGE", age_cell),
    ],
    "serviceaccounts": [
        Column("SECRETS", lambda o, n: str(len(o.get("secrets") or []))),
        Column("AGE", age_cell),
    ],
    "endpoints": [Column("ENDPOINTS", lambda o, n: endpoints_text(o)), Column("AGE", age_cell)],
    "resourcequotas": [
        Column("AGE", age_cell),
        Column("REQUEST", lambda o, n: _quota(o, False)),
        Column("LIMIT", lambda o, n: _quota(o, True)),
    ],
    "limitranges": [
        Column("CREATED AT", lambda o, n: str(_get(o, "metadata", "creationTimestamp", default=""))),
    ],
    "controllerrevisions": [
        Column("CONTROLLER", lambda o, n: revision_controller(o)),
        Column("REVISION", lambda o, n: str(o.get("revision", 0))),
        Column("AGE", age_cell),
    ],
    "leases": [
        Column("HOLDER", lambda o, n: str(_get(o, "spec", "holderIdentity", default=""))),
        Column("AGE", age_cell),
    ],
    "ingresses": [
        Column("CLASS", lambda o, n: _none(_get(o, "spec", "ingressClassName"))),
        Column("HOSTS", lambda o, n: ingress_hosts(o)),
        Column("ADDRESS", lambda o, n: ingress_address(o)),
        Column("PORTS", lambda o, n: ingress_ports(o)),
        Column("AGE", age_cell),
    ],
    "ingressclasses": [
        Column("CONTROLLER", lambda o, n: str(_get(o, "spec", "controller", default=""))),
        Column("PARAMETERS", lambda o, n: _none(_get(o, "spec", "parameters", "name"))),
        Column("AGE", age_cell),
    ],
}


def ingress_hosts(obj: Obj, limit: int = 4) -> str:
    hosts = [str(r.get("host") or "*") for r in _get(obj, "spec", "rules", default=[])] or ["*"]
    text = ",".join(hosts[:limit])
    return text + (f" + {len(hosts) - limit} more..." if len(hosts) > limit else "")


def ingress_address(obj: Obj) -> str:
    entries = _get(obj, "status", "loadBalancer", "ingress", default=[])
    found = (e.get("ip") or e.get("hostname") for e in entries)
    return ",".join(str(x) for x in found if x)


def ingress_ports(obj: Obj) -> str:
    """The ports the ingress answers on: those in its status (jetkube's proxy port), else 80/443."""
    entries = _get(obj, "status", "loadBalancer", "ingress", default=[])
    ports = sorted({int(p["port"]) for e in entries for p in e.get("ports") or ()})
    if ports:
        return ", ".join(str(p) for p in ports)
    return "80, 443" if _get(obj, "spec", "tls") else "80"


DEFAULT = [Column("AGE", age_cell)]


def columns_for(plural: str, wide: bool) -> list[Column]:
    """The columns after NAME for ``plural``; wide-only ones only when ``wide``."""
    table = TABLES.get(plural)
    if table is None:
        from schemas.printing.storage import STORAGE_TABLES  # it imports Column from here

        table = STORAGE_TABLES.get(plural, DEFAULT)
    return [c for c in table if wide or not c.wide]


def revision_controller(obj: dict[str, Any]) -> str:
    """``statefulset.apps/web``: the revision's controlling owner, as kubectl prints it."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            group = str(ref.get("apiVersion") or "").rpartition("/")[0]
            kind = str(ref.get("kind") or "").lower()
            return f"{kind}.{group}/{ref.get('name')}" if group else f"{kind}/{ref.get('name')}"
    return "<none>"


TABLES["customresourcedefinitions"] = [
    Column("CREATED AT", lambda o, n: str(_get(o, "metadata", "creationTimestamp", default=""))),
]


def _printer_cell(json_path: str, kind: str) -> CellFn:
    from schemas.crd import json_path as at

    def cell(obj: Obj, now: datetime) -> str:
        value = at(obj, json_path)
        if value is None:
            return "<none>" if kind != "date" else "<unknown>"
        if kind == "date":
            return age_cell({"metadata": {"creationTimestamp": value}}, now)
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (dict, list)):
            import json

            return json.dumps(value, separators=(",", ":"))
        return str(value)

    return cell


def register_columns(plural: str, printer_columns: list[Obj] | None) -> None:
    """A CRD's ``additionalPrinterColumns`` as the columns of ``plural`` (None: forget them; a CRD
    without any prints NAME and AGE, as Kubernetes does)."""
    if printer_columns is None:
        TABLES.pop(plural, None)
        return
    TABLES[plural] = [
        Column(
            str(c.get("name") or "").upper(),
            _printer_cell(str(c.get("jsonPath") or ""), str(c.get("type") or "string")),
            wide=int(c.get("priority") or 0) > 0,
        )
        for c in printer_columns
    ]
