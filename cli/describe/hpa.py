"""``describe hpa``: kubectl's layout (Reference, Metrics as current / target, replicas, Conditions)."""

from __future__ import annotations

from typing import Any

from cli.describe.writer import Writer

Obj = dict[str, Any]
WIDTH = 55  # kubectl's tabwriter aligns every key to the longest ("  resource cpu on pods  (...):")


def metric_lines(obj: Obj) -> list[tuple[str, str]]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    current = {
        (m.get("resource") or {}).get("name"): (m.get("resource") or {}).get("current") or {}
        for m in status.get("currentMetrics") or []
        if m.get("type") == "Resource"
    }
    out = []
    for metric in spec.get("metrics") or []:
        if metric.get("type") != "Resource":
            out.append((f"{str(metric.get('type') or '').lower()} metric", "<not supported by jetkube>"))
            continue
        res = metric.get("resource") or {}
        name, target = res.get("name"), res.get("target") or {}
        now = current.get(name)
        if target.get("type") == "Utilization":
            shown = "<unknown>"
            if now and now.get("averageUtilization") is not None:
                shown = f"{now['averageUtilization']}% ({now.get('averageValue', '')})"
            label = f"resource {name} on pods  (as a percentage of request)"
            out.append((label, f"{shown} / {target.get('averageUtilization')}%"))
        else:
            shown = str((now or {}).get("averageValue", "<unknown>"))
            out.append((f"resource {name} on pods", f"{shown} / {target.get('averageValue')}"))
    return out


def describe_hpa(w: Writer, obj: Obj, ctx: Obj) -> None:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    w.kv(0, "Name", meta.get("name"), WIDTH)
    w.kv(0, "Namespace", meta.get("namespace"), WIDTH)
    w.map(0, "Labels", meta.get("labels"), WIDTH)
    w.map(0, "Annotations", meta.get("annotations"), WIDTH)
    w.kv(0, "CreationTimestamp", meta.get("creationTimestamp"), WIDTH)
    ref = spec.get("scaleTargetRef") or {}
    w.kv(0, "Reference", f"{ref.get('kind')}/{ref.get('name')}", WIDTH)
    w.kv(0, "Metrics", "( current / target )", WIDTH)
    for label, value in metric_lines(obj):
        w.kv(1, label, value, WIDTH - 2)
    w.kv(0, "Min replicas", spec.get("minReplicas", "<unset>"), WIDTH)
    w.kv(0, "Max replicas", spec.get("maxReplicas"), WIDTH)
    w.kv(
        0,
        f"{ref.get('kind')} pods",
        f"{status.get('currentReplicas', 0)} current / {status.get('desiredReplicas', 0)} desired",
        WIDTH,
    )
    conditions = status.get("conditions") or []
    if conditions:
        w.kv(0, "Conditions")
        rows = [["Type", "Status", "Reason", "Message"]]
        rows += [
            [c.get("type", ""), c.get("status", ""), c.get("reason", ""), c.get("message", "")]
            for c in conditions
        ]
        w.table(1, rows)
    else:
        w.kv(0, "Conditions", "<none>", WIDTH)
