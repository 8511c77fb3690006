"""What ``describe`` prints for each kind; a generic form for the rest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from cli.describe.writer import Writer, events_section
from cli.printers.age import age
from cli.printers.columns import format_labels, format_selector, node_roles, service_ports
from cli.printers.podstatus import pod_status_reason

Obj = dict[str, Any]


def _meta(w: Writer, obj: Obj, namespaced: bool = True) -> None:
    meta = obj.get("metadata") or {}
    w.kv(0, "Name", meta.get("name"))
    if namespaced:
        w.kv(0, "Namespace", meta.get("namespace"))
    w.map(0, "Labels", meta.get("labels"))
    w.map(0, "Annotations", meta.get("annotations"))


def _controlled_by(w: Writer, obj: Obj) -> None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            w.kv(0, "Controlled By", f"{ref.get('kind')}/{ref.get('name')}")


def _state(w: Writer, level: int, key: str, state: Obj | None) -> None:
    state = state or {}
    if "running" in state:
        w.kv(level, key, "Running", 16)
        w.kv(level + 1, "Started", (state["running"] or {}).get("startedAt"), 14)
    elif "waiting" in state:
        w.kv(level, key, "Waiting", 16)
        w.kv(level + 1, "Reason", (state["waiting"] or {}).get("reason"), 14)
    elif "terminated" in state:
        term = state["terminated"] or {}
        w.kv(level, key, "Terminated", 16)
        w.kv(level + 1, "Reason", term.get("reason"), 14)
        if term.get("message"):
            w.kv(level + 1, "Message", term.get("message"), 14)
        w.kv(level + 1, "Exit Code", term.get("exitCode"), 14)
        w.kv(level + 1, "Started", term.get("startedAt"), 14)
        w.kv(level + 1, "Finished", term.get("finishedAt"), 14)
    elif key == "State":
        w.kv(level, key, "Waiting", 16)


def _containers(w: Writer, level: int, title: str, specs: Sequence[Obj], statuses: Sequence[Obj]) -> None:
    if not specs:
        return
    w.kv(level, title)
    by_name = {s.get("name"): s for s in statuses}
    for c in specs:
        st = by_name.get(c.get("name"), {})
        w.kv(level + 1, c.get("name", ""))
        lvl = level + 2
        if st.get("containerID"):
            w.kv(lvl, "Container ID", st.get("containerID"), 16)
        w.kv(lvl, "Image", c.get("image"), 16)
        ports = ",".join(
            f"{p.get('containerPort')}/{p.get('protocol') or 'TCP'}" for p in c.get("ports") or []
        )
        w.kv(lvl, "Port", ports or "<none>", 16)
        if c.get("command"):
            w.kv(lvl, "Command")
            for part in c["command"]:
                w.line(lvl + 1, str(part))
        if c.get("args"):
            w.kv(lvl, "Args")
            for part in c["args"]:
                w.line(lvl + 1, str(part))
        if statuses:
            _state(w, lvl, "State", st.get("state"))
            if st.get("lastState"):
                _state(w, lvl, "Last State", st.get("lastState"))
            w.kv(lvl, "Ready", str(bool(st.get("ready"))), 16)
            w.kv(lvl, "Restart Count", st.get("restartCount", 0), 16)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(probe):
                w.kv(lvl, probe.replace("Probe", "").capitalize(), _probe(c[probe]), 16)
        env = c.get("env") or []
        if env:
            w.kv(lvl, "Environment")
            for e in env:
                value = e.get("value")
                if value is None and e.get("valueFrom"):
                    src = e["valueFrom"]
                    ref = src.get("fieldRef") or src.get("resourceFieldRef") or {}
                    value = f"({ref.get('fieldPath') or ref.get('resource') or next(iter(src), '')})"
                w.line(lvl + 1, f"{e.get('name')}:  {value}")
        else:
            w.kv(lvl, "Environment", "<none>", 16)
        mounts = c.get("volumeMounts") or []
        w.kv(lvl, "Mounts", "" if mounts else "<none>", 16)
        for m in mounts:
            ro = "ro" if m.get("readOnly") else "rw"
            w.line(lvl + 1, f"{m.get('mountPath')} from {m.get('name')} ({ro})")


def _probe(p: Obj) -> str:
    if "httpGet" in p:
        h = p["httpGet"]
        scheme = h.get("scheme", "HTTP").lower()
        what = f"http-get {scheme}://{h.get('host', '')}:{h.get('port')}{h.get('path', '')}"
    elif "exec" in p:
        what = "exec " + str((p["exec"] or {}).get("command"))
    elif "tcpSocket" in p:
        what = f"tcp-socket :{(p['tcpSocket'] or {}).get('port')}"
    else:
        what = "unknown"
    return (
        f"{what} delay={p.get('initialDelaySeconds', 0)}s timeout={p.get('timeoutSeconds', 1)}s "
        f"period={p.get('periodSeconds', 10)}s #success={p.get('successThreshold', 1)} "
        f"#failure={p.get('failureThreshold', 3)}"
    )


def _conditions(w: Writer, conditions: Sequence[Obj], columns: Sequence[str] = ("type", "status")) -> None:
    if not conditions:
        return
    w.kv(0, "Conditions")
    rows = [[c.capitalize() for c in columns]]
    rows += [[str(c.get(col, "")) for col in columns] for c in conditions]
    w.table(1, rows)


def _volumes(w: Writer, volumes: Sequence[Obj]) -> None:
    w.kv(0, "Volumes", "" if volumes else "<none>")
    for v in volumes:
        w.kv(1, v.get("name", ""))
        kinds = [k for k in v if k != "name"]
        for k in kinds:
            w.kv(2, "Type", k, 12)
            for key, value in sorted((v.get(k) or {}).items()):
                w.kv(2, key[0].upper() + key[1:], value, 12)


def _pod_template(w: Writer, template: Obj) -> None:
    w.kv(0, "Pod Template")
    w.map(1, "Labels", (template.get("metadata") or {}).get("labels"))
    spec = template.get("spec") or {}
    _containers(w, 1, "Init Containers", spec.get("initContainers") or [], [])
    _containers(w, 1, "Containers", spec.get("containers") or [], [])


def describe_pod(w: Writer, obj: Obj, ctx: Obj) -> None:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    w.kv(0, "Name", meta.get("name"))
    w.kv(0, "Namespace", meta.get("namespace"))
    node = spec.get("nodeName")
    w.kv(0, "Node", f"{node}/{status.get('hostIP', '')}" if node else "<none>")
    w.kv(0, "Start Time", status.get("startTime") or "<unset>")
    w.map(0, "Labels", meta.get("labels"))
    w.map(0, "Annotations", meta.get("annotations"))
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase", "Pending")
    w.kv(0, "Status", phase)
    if status.get("reason"):
        w.kv(0, "Reason", status.get("reason"))
    if status.get("message"):
        w.kv(0, "Message", status.get("message"))
    w.kv(0, "IP", status.get("podIP") or "")
    _controlled_by(w, obj)
    _containers(
        w, 0, "Init Containers", spec.get("initContainers") or [], status.get("initContainerStatuses") or []
    )
    _containers(w, 0, "Containers", spec.get("containers") or [], status.get("containerStatuses") or [])
    _conditions(w, status.get("conditions") or [])
    _volumes(w, spec.get("volumes") or [])
    w.kv(0, "QoS Class", status.get("qosClass") or "BestEffort")
    w.kv(0, "Node-Selectors", format_labels(spec.get("nodeSelector")))
    tolerations = [
        f"{t.get('key', '')}:{t.get('effect', '')}"
        + (f" op={t.get('operator')}" if t.get("operator") else "")
        for t in spec.get("tolerations") or []
    ]
    w.kv(0, "Tolerations", ", ".join(tolerations) or "<none>")


def describe_node(w: Writer, obj: Obj, ctx: Obj) -> None:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    w.kv(0, "Name", meta.get("name"))
    w.kv(0, "Roles", node_roles(obj))
    w.map(0, "Labels", meta.get("labels"))
    w.map(0, "Annotations", meta.get("annotations"))
    w.kv(0, "CreationTimestamp", meta.get("creationTimestamp"))
    taints = [
        f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
        for t in spec.get("taints") or []
    ]
    w.kv(0, "Taints", taints[0] if taints else "<none>")
    for t in taints[1:]:
        w.line(7, t)
    w.kv(0, "Unschedulable", str(bool(spec.get("unschedulable"))).lower())
    _conditions(
        w, status.get("conditions") or [], ("type", "status", "lastHeartbeatTime", "reason", "message")
    )
    w.kv(0, "Addresses")
    for a in status.get("addresses") or []:
        w.kv(1, a.get("type", ""), a.get("address"))
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        w.kv(0, title)
        for k, v in sorted((status.get(key) or {}).items()):
            w.kv(1, k, v, 18)
    info = status.get("nodeInfo") or {}
    w.kv(0, "System Info")
    for k, v in info.items():
        w.kv(1, k[0].upper() + k[1:], v, 26)
    pods = ctx.get("pods") or []
    w.kv(0, "Non-terminated Pods", f"({len(pods)} in total)", 20)
    if pods:
        rows = [["Namespace", "Name", "Age"]]
        rows += [
            [
                p["metadata"].get("namespace", ""),
                p["metadata"]["name"],
                age(p["metadata"].get("creationTimestamp"), ctx["now"]),
            ]
            for p in pods
        ]
        w.table(1, rows)


def describe_deployment(w: Writer, obj: Obj, ctx: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    _meta(w, obj)
    w.kv(0, "CreationTimestamp", (obj.get("metadata") or {}).get("creationTimestamp"), 23)
    w.kv(0, "Selector", format_selector(spec.get("selector")), 23)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    w.kv(
        0,
        "Replicas",
        f"{spec.get('replicas', 1)} desired | {status.get('updatedReplicas', 0)} updated | {total} total | "
        f"{available} available | {status.get('unavailableReplicas', 0)} unavailable",
        23,
    )
    strategy = spec.get("strategy") or {}
    w.kv(0, "StrategyType", strategy.get("type", "RollingUpdate"), 23)
    w.kv(0, "MinReadySeconds", spec.get("minReadySeconds", 0), 23)
    ru = strategy.get("rollingUpdate") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        w.kv(
            0,
            "RollingUpdateStrategy",
            f"{ru.get('maxUnavailable', '25%')} max unavailable, {ru.get('maxSurge', '25%')} max surge",
            23,
        )
    _pod_template(w, spec.get("template") or {})
    _conditions(w, status.get("conditions") or [], ("type", "status", "reason"))


def _pods_status(pods: Sequence[Obj]) -> str:
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    for p in pods:
        phase = (p.get("status") or {}).get("phase", "Pending")
        counts[phase] = counts.get(phase, 0) + 1
    running, waiting = counts["Running"], counts["Pending"]
    return (
        f"{running} Running / {waiting} Waiting / {counts['Succeeded']} Succeeded / {counts['Failed']} Failed"
    )


def describe_replicas(w: Writer, obj: Obj, ctx: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    _meta(w, obj)
    w.kv(0, "Selector", format_selector(spec.get("selector")))
    w.kv(0, "Replicas", f"{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired")
    w.kv(0, "Pods Status", _pods_status(ctx.get("pods") or []))
    _controlled_by(w, obj)
    _pod_template(w, spec.get("template") or {})


def describe_job(w: Writer, obj: Obj, ctx: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    _meta(w, obj)
    w.kv(0, "Selector", format_selector(spec.get("selector")))
    w.kv(0, "Parallelism", spec.get("parallelism", 1))
    w.kv(0, "Completions", spec.get("completions", "<unset>"))
    w.kv(0, "Start Time", status.get("startTime") or "<unset>")
    if status.get("completionTime"):
        w.kv(0, "Completed At", status.get("completionTime"))
    w.kv(
        0,
        "Pods Statuses",
        f"{status.get('active', 0)} Active / {status.get('succeeded', 0)} Succeeded / "
        f"{status.get('failed', 0)} Failed",
    )
    _pod_template(w, spec.get("template") or {})


def describe_service(w: Writer, obj: Obj, ctx: Obj) -> None:
    spec = obj.get("spec") or {}
    _meta(w, obj)
    w.kv(0, "Selector", format_labels(spec.get("selector")), 18)
    w.kv(0, "Type", spec.get("type", "ClusterIP"), 18)
    w.kv(0, "IP", spec.get("clusterIP") or "<none>", 18)
    endpoints = ctx.get("endpoints") or {}
    for p in spec.get("ports") or []:
        w.kv(0, "Port", f"{p.get('name') or '<unset>'}  {p.get('port')}/{p.get('protocol', 'TCP')}", 18)
        w.kv(0, "TargetPort", f"{p.get('targetPort', p.get('port'))}/{p.get('protocol', 'TCP')}", 18)
        if p.get("nodePort"):
            w.kv(
                0, "NodePort", f"{p.get('name') or '<unset>'}  {p['nodePort']}/{p.get('protocol', 'TCP')}", 18
            )
        from cli.printers.columns import endpoints_text

        w.kv(0, "Endpoints", endpoints_text(endpoints) if endpoints else "<none>", 18)
    w.kv(0, "Session Affinity", spec.get("sessionAffinity", "None"), 18)
    _ = service_ports


def describe_namespace(w: Writer, obj: Obj, ctx: Obj) -> None:
    _meta(w, obj, namespaced=False)
    w.kv(0, "Status", (obj.get("status") or {}).get("phase", "Active"))


def describe_generic(w: Writer, obj: Obj, ctx: Obj) -> None:
    meta = obj.get("metadata") or {}
    _meta(w, obj, namespaced=bool(meta.get("namespace")))
    w.kv(0, "API Version", obj.get("apiVersion"))
    w.kv(0, "Kind", obj.get("kind"))
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        _dump(w, 0, key, value)


def _dump(w: Writer, level: int, key: str, value: Any) -> None:
    title = key[0].upper() + key[1:] if key else key
    if isinstance(value, dict):
        w.kv(level, title)
        for k, v in value.items():
            _dump(w, level + 1, k, v)
    elif isinstance(value, list):
        w.kv(level, title)
        for item in value:
            if isinstance(item, dict):
                for k, v in item.items():
                    _dump(w, level + 1, k, v)
            else:
                w.line(level + 1, str(item))
    else:
        w.kv(level, title, value)


from cli.describe.hpa import describe_hpa  # noqa: E402  (kept beside the table it joins)

DESCRIBERS: dict[str, Callable[[Writer, Obj, Obj], None]] = {
    "pods": describe_pod,
    "nodes": describe_node,
    "deployments": describe_deployment,
    "replicasets": describe_replicas,
    "replicationcontrollers": describe_replicas,
    "jobs": describe_job,
    "services": describe_service,
    "namespaces": describe_namespace,
    "horizontalpodautoscalers": describe_hpa,
}


def describe(plural: str, obj: Obj, events: Sequence[Obj], now: datetime, ctx: Obj | None = None) -> str:
    """The full ``describe`` text of ``obj``; ``ctx`` holds related objects (pods, endpoints)."""
    w = Writer()
    context = {"now": now, **(ctx or {})}
    describer = DESCRIBERS.get(plural)
    if describer is None:
        from cli.describe.storage import STORAGE_DESCRIBERS  # it imports this module's helpers

        describer = STORAGE_DESCRIBERS.get(plural, describe_generic)
    describer(w, obj, context)
    events_section(w, events, now)
    return w.text()


def pod_status_line(pod: Obj) -> str:
    return pod_status_reason(pod)
