"""Controller rules: ReplicationController, ReplicaSet, Deployment, DaemonSet, Job, CronJob."""

from __future__ import annotations

from typing import Any

from schemas import names
from schemas.errors import FieldError
from schemas.labels import selector_from_dict
from schemas.validation.errors import forbidden, invalid, required, unsupported
from schemas.validation.meta import labels_errors, object_meta_errors, selector_dict_errors
from schemas.validation.pod import non_negative, template_errors

ALWAYS = ("Always",)
JOB_RESTART = ("OnFailure", "Never")
MISMATCH = "`selector` does not match template `labels`"


def _meta(obj: dict[str, Any], out: list[FieldError]) -> None:
    object_meta_errors(
        obj.get("metadata"), namespaced=True, name_check=names.dns1123_subdomain_errors, out=out
    )


def _template_labels(spec: dict[str, Any]) -> dict[str, str]:
    return ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}


def _label_selector(
    spec: dict[str, Any], out: list[FieldError], *, what: str, required_: bool = True
) -> None:
    """spec.selector (metav1.LabelSelector) is present, non-empty, valid and matches the template."""
    sel = spec.get("selector")
    if sel is None:
        if required_:
            out.append(required("spec.selector"))
        return
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        out.append(invalid("spec.selector", sel, f"empty selector is invalid for {what}"))
        return
    n = len(out)
    selector_dict_errors(sel, "spec.selector", out)
    if len(out) > n or "template" not in spec:
        return
    labels = _template_labels(spec)
    if not selector_from_dict(sel).matches(labels):
        out.append(invalid("spec.template.metadata.labels", labels, MISMATCH))


def _replicas(spec: dict[str, Any], out: list[FieldError]) -> None:
    non_negative(spec.get("replicas"), "spec.replicas", out)
    non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds", out)


def _int_or_percent(value: int | str | None, path: str, out: list[FieldError]) -> int | None:
    """A maxSurge/maxUnavailable value; returns it as a number (percent or absolute) when valid."""
    if value is None:
        return None
    if isinstance(value, int):
        if value < 0:
            out.append(invalid(path, value, "must be greater than or equal to 0"))
            return None
        return value
    if not names.is_percent(value):
        out.append(invalid(path, value, names.PERCENT_MSG))
        return None
    pct = int(value[:-1])
    if pct > 100:
        out.append(invalid(path, value, "must not be greater than 100%"))
    return pct


def replication_controller_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    spec = obj.get("spec") or {}
    _replicas(spec, out)
    sel = spec.get("selector")
    if not sel:
        out.append(required("spec.selector"))
    else:
        labels_errors(sel, "spec.selector", out)
    if "template" not in spec:
        out.append(required("spec.template"))
        return
    labels = _template_labels(spec)
    if sel and any(labels.get(k) != v for k, v in sel.items()):
        out.append(invalid("spec.template.metadata.labels", labels, MISMATCH))
    template_errors(spec["template"], "spec.template", out, restart_policies=ALWAYS)


def replica_set_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    spec = obj.get("spec") or {}
    _replicas(spec, out)
    _label_selector(spec, out, what="replicaset")
    template_errors(spec.get("template"), "spec.template", out, restart_policies=ALWAYS)


def deployment_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    spec = obj.get("spec") or {}
    _replicas(spec, out)
    _label_selector(spec, out, what="deployment")
    template_errors(spec.get("template"), "spec.template", out, restart_policies=ALWAYS)
    non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", out)
    strategy = spec.get("strategy") or {}
    stype = strategy.get("type")
    ru = strategy.get("rollingUpdate")
    if stype is not None and stype not in ("Recreate", "RollingUpdate"):
        out.append(unsupported("spec.strategy.type", stype, ["Recreate", "RollingUpdate"]))
    elif stype == "Recreate" and ru is not None:
        out.append(
            forbidden(
                "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"
            )
        )
    elif ru is not None:
        path = "spec.strategy.rollingUpdate"
        surge = _int_or_percent(ru.get("maxSurge"), f"{path}.maxSurge", out)
        unavailable = _int_or_percent(ru.get("maxUnavailable"), f"{path}.maxUnavailable", out)
        if surge == 0 and unavailable == 0:
            out.append(
                invalid(
                    f"{path}.maxUnavailable", ru.get("maxUnavailable"), "may not be 0 when `maxSurge` is 0"
                )
            )
    pds = spec.get("progressDeadlineSeconds")
    if pds is not None:
        non_negative(pds, "spec.progressDeadlineSeconds", out)
        if pds <= (spec.get("minReadySeconds") or 0):
            out.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))


def daemon_set_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    spec = obj.get("spec") or {}
    _label_selector(spec, out, what="daemonset")
    template_errors(spec.get("template"), "spec.template", out, restart_policies=ALWAYS)
    non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds", out)
    non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", out)
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type")
    ru = strategy.get("rollingUpdate")
    if stype is not None and stype not in ("RollingUpdate", "OnDelete"):
        out.append(unsupported("spec.updateStrategy.type", stype, ["RollingUpdate", "OnDelete"]))
    elif ru is not None:
        path = "spec.updateStrategy.rollingUpdate"
        surge = _int_or_percent(ru.get("maxSurge"), f"{path}.maxSurge", out)
        unavailable = _int_or_percent(ru.get("maxUnavailable"), f"{path}.maxUnavailable", out)
        if not surge and unavailable == 0:
            out.append(
                invalid(f"{path}.maxUnavailable", ru.get("maxUnavailable"), "cannot be 0 when maxSurge is 0")
            )


def job_spec_errors(spec: dict[str, Any], out: list[FieldError], path: str = "spec") -> None:
    for key in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        non_negative(spec.get(key), f"{path}.{key}", out)
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and ads <= 0:
        out.append(invalid(f"{path}.activeDeadlineSeconds", ads, "must be greater than or equal to 1"))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        out.append(unsupported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
    if mode == "Indexed" and spec.get("completions") is None:
        out.append(required(f"{path}.completions", "when completion mode is Indexed"))
    sel = spec.get("selector")
    if sel is not None:
        n = len(out)
        selector_dict_errors(sel, f"{path}.selector", out)
        if len(out) == n and "template" in spec:
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not selector_from_dict(sel).matches(labels):
                out.append(invalid(f"{path}.template.metadata.labels", labels, MISMATCH))
    template_errors(spec.get("template"), f"{path}.template", out, restart_policies=JOB_RESTART)


def job_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    _meta(obj, out)
    job_spec_errors(obj.get("spec") or {}, out)


def _cron_schedule_errors(schedule: str) -> str | None:
    from croniter import croniter  # imported lazily: only CronJobs need it

    text = schedule.strip()
    if text.startswith("TZ=") or text.startswith("CRON_TZ="):
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if text in ("@every",) or text.startswith("@every "):
        return None
    if not croniter.is_valid(text):
        return f"unparseable schedule: {text!r}"
    return None


def cron_job_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    meta = obj.get("metadata") or {}
    object_meta_errors(meta, namespaced=True, name_check=names.dns1123_subdomain_errors, out=out)
    name = meta.get("name") or ""
    if len(name) > 52:
        out.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    spec = obj.get("spec") or {}
    schedule = spec.get("schedule")
    if not schedule:
        out.append(required("spec.schedule"))
    else:
        msg = _cron_schedule_errors(schedule)
        if msg:
            out.append(invalid("spec.schedule", schedule, msg))
    cp = spec.get("concurrencyPolicy")
    if cp is not None and cp not in ("Allow", "Forbid", "Replace"):
        out.append(unsupported("spec.concurrencyPolicy", cp, ["Allow", "Forbid", "Replace"]))
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        non_negative(spec.get(key), f"spec.{key}", out)
    jt = spec.get("jobTemplate")
    if jt is None:
        out.append(required("spec.jobTemplate"))
        return
    labels_errors((jt.get("metadata") or {}).get("labels"), "spec.jobTemplate.metadata.labels", out)
    job_spec_errors(jt.get("spec") or {}, out, "spec.jobTemplate.spec")


def controller_revision_errors(obj: dict[str, Any], out: list[FieldError]) -> None:
    """apps/v1 ControllerRevision: a DNS subdomain name, ``revision`` >= 0, ``data`` an object."""
    object_meta_errors(
        obj.get("metadata"), namespaced=True, name_check=names.dns1123_subdomain_errors, out=out
    )
    non_negative(obj.get("revision"), "revision", out)
    if obj.get("data") is not None and not isinstance(obj.get("data"), dict):
        out.append(invalid("data", obj.get("data"), "must be an object"))
