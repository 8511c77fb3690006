"""The HorizontalPodAutoscaler controller: every sync period, each HPA's target to the replicas its
metrics call for.

Informers: horizontalpodautoscalers, pods (by namespace). ``reconcile(key)`` reads the target
through its scale view (actors/autoscaler/scaletarget.py: Deployments, ReplicaSets,
ReplicationControllers, StatefulSets), selects its pods from the cache, asks the kubelets of the
nodes they run on for their last samples (actors/metrics/top.py, the same figures ``jetkube top``
shows), turns them into :class:`PodSample` rows and lets the pure algorithm decide
(actors/autoscaler/algorithm.py). A change is a compare-and-set write of the target's
``spec.replicas``, a ``SuccessfulRescale`` event and ``status.lastScaleTime``; every sync writes the
HPA's status (current and desired replicas, current metrics, conditions AbleToScale, ScalingActive,
ScalingLimited) and requeues the key after ``sync_period`` (Kubernetes'
``--horizontal-pod-autoscaler-sync-period``, 15 s).

As in Kubernetes, the recommendations (for the stabilization windows) and the scale events (for
the rate policies) are kept in this process's memory: a new leader starts with none, which can only
make it scale down later than the window says, never sooner.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import structlog

from actors.autoscaler.algorithm import (
    Decision,
    MetricError,
    PodSample,
    Proposal,
    Recommendation,
    ScaleEvent,
    normalize,
    recommend,
)
from actors.autoscaler.scaletarget import Scale, read_scale, write_replicas
from actors.runtime.cache import split_key
from actors.runtime.shared import SharedInformers
from actors.workload.timeutil import utcnow
from actors.workload.workload import NS_INDEX, Obj, WorkloadController
from schemas.errors import Conflict, JetkubeError
from schemas.quantity import cpu_millis, to_bytes
from schemas.status import format_time

log = structlog.get_logger(__name__)

DEFAULT_SYNC_PERIOD = 15.0
Usage = dict[tuple[str, str], tuple[float, float]]  # (namespace, pod) -> (CPU millicores, memory bytes)
UsageSource = Callable[[Any, list[str]], Any]  # (api, node names) -> awaitable Usage


async def kubelet_usage(api: Any, nodes: list[str]) -> Usage:
    """The last samples of the kubelets of ``nodes`` (what ``jetkube top pods`` prints)."""
    from actors.metrics.top import collect_top

    data = await collect_top(api, api.bus, nodes=nodes, timeout=5.0)
    return {(p.namespace, p.name): (p.cpu_nanocores / 1_000_000, float(p.memory_bytes)) for p in data.pods}


def history_usage(history: Any, *, fallback: UsageSource = kubelet_usage) -> UsageSource:
    """Usage from the process's metrics history (actors/metrics/history.py): the latest point of
    every pod, when each node asked has a point of its own from the last two sampling intervals;
    otherwise (a node the collector has not reached yet) the kubelets are asked, as without one."""

    async def usage(api: Any, nodes: list[str]) -> Usage:
        fresh = time.time() - 2 * history.interval - 1.0
        if any((p := history.latest("node", n)) is None or p.t < fresh for n in nodes):
            return dict(await fallback(api, nodes))
        out: Usage = {}
        for key, point in history.latest_of_kind("pod", since=fresh):
            namespace, _, name = key.partition("/")
            out[(namespace, name)] = (point.cpu_milli, float(point.memory_bytes))
        return out

    return usage


def pod_request(pod: Obj, resource: str) -> float:
    """The pod's request of ``resource`` (CPU millicores, else bytes); 0 if a container has none."""
    total = 0.0
    for c in (pod.get("spec") or {}).get("containers") or []:
        res = c.get("resources") or {}
        value = (res.get("requests") or {}).get(resource, (res.get("limits") or {}).get(resource))
        if value is None:
            return 0.0
        total += cpu_millis(value) if resource == "cpu" else to_bytes(value)
    return total


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def samples_for(pods: list[Obj], usage: Usage, resources: list[str]) -> dict[str, list[PodSample]]:
    out: dict[str, list[PodSample]] = {}
    for resource in resources:
        index = 0 if resource == "cpu" else 1
        rows = []
        for pod in pods:
            meta = pod.get("metadata") or {}
            used = usage.get((str(meta.get("namespace") or ""), str(meta.get("name") or "")))
            rows.append(
                PodSample(
                    str(meta.get("name")),
                    is_ready(pod),
                    pod_request(pod, resource),
                    used[index] if used is not None else None,
                )
            )
        out[resource] = rows
    return out


def live_pods(pods: list[Obj], scale: Scale) -> list[Obj]:
    """The target's pods that count: matching, not being deleted, not finished."""
    return [
        p
        for p in pods
        if scale.selector.matches((p.get("metadata") or {}).get("labels") or {})
        and not (p.get("metadata") or {}).get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]


def metric_status(metric: Obj, proposal: Proposal) -> Obj:
    name = metric["resource"]["name"]
    current: Obj = {"averageValue": _quantity(name, proposal.average)}
    if proposal.utilization is not None:
        current["averageUtilization"] = proposal.utilization
    return {"type": "Resource", "resource": {"name": name, "current": current}}


def _quantity(resource: str, value: float) -> str:
    return f"{round(value)}m" if resource == "cpu" else str(round(value))


def condition(type_: str, status: bool, reason: str, message: str, old: list[Obj], now: str) -> Obj:
    text = "True" if status else "False"
    before = next((c for c in old if c.get("type") == type_), None)
    since = before.get("lastTransitionTime") if before and before.get("status") == text else now
    return {"type": type_, "status": text, "lastTransitionTime": since, "reason": reason, "message": message}


class HorizontalPodAutoscalerController(WorkloadController):
    name = "horizontal-pod-autoscaler"
    workers = 2

    def __init__(
        self,
        api: Any,
        informers: SharedInformers,
        *,
        sync_period: float = DEFAULT_SYNC_PERIOD,
        usage: UsageSource = kubelet_usage,
        monotonic: Callable[[], float] = time.monotonic,
        **kw: Any,
    ) -> None:
        super().__init__(api, **kw)
        self.hpas = self.track(informers.informer("horizontalpodautoscalers"))
        self.pods = self.track(informers.informer("pods"))
        self.watch(self.hpas)
        self.sync_period = sync_period
        self.usage = usage
        self.monotonic = monotonic
        self.recommendations: dict[str, list[Recommendation]] = {}
        self.events: dict[str, list[ScaleEvent]] = {}

    async def reconcile(self, key: str) -> None:
        hpa = self.hpas.get(key)
        if hpa is None:
            self.recommendations.pop(key, None)
            self.events.pop(key, None)
            return
        try:
            await self.sync(key, hpa)
        finally:
            self.requeue_after(key, self.sync_period)

    async def sync(self, key: str, hpa: Obj) -> None:
        namespace = split_key(key)[0] or "default"
        spec = hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        old_conditions = (hpa.get("status") or {}).get("conditions") or []
        now_text = format_time(utcnow())
        try:
            scale = await read_scale(self.api, ref, namespace)
        except JetkubeError as err:
            message = f"the HPA controller was unable to get the target's current scale: {err}"
            await self.record(hpa, "Warning", "FailedGetScale", message)
            status = {
                **(hpa.get("status") or {}),
                "conditions": [
                    condition("AbleToScale", False, "FailedGetScale", message, old_conditions, now_text)
                ],
            }
            await self.write_status(hpa, status)
            return
        current = scale.spec_replicas
        low, high = int(spec.get("minReplicas") or 1), int(spec["maxReplicas"])
        metrics: list[Obj] = []
        decision: Decision
        active = (True, "ValidMetricFound", "the HPA was able to successfully calculate a replica count")
        if current == 0 and low > 0:
            decision = Decision(0, "ScalingDisabled")
            active = (
                False,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            )
        elif current > high:
            decision = Decision(high, "Current number of replicas above Spec.MaxReplicas", True)
        elif current < low:
            decision = Decision(low, "Current number of replicas below Spec.MinReplicas", True)
        else:
            pods = live_pods(self.pods.by_index(NS_INDEX, namespace), scale)
            try:
                proposed, why, each = await self.propose(current, spec, pods)
                metrics = [metric_status(m, p) for m, p in each]
            except MetricError as err:
                await self.record(hpa, "Warning", err.reason, err.message)
                active = (False, err.reason, err.message)
                proposed, why = current, ""
            now = self.monotonic()
            decision = normalize(
                current,
                proposed,
                low,
                high,
                spec.get("behavior"),
                self.recommendations.get(key, []),
                self.events.get(key, []),
                now,
            )
            self.recommendations[key] = decision.recommendations
            if decision.replicas != current and why:
                decision.reason = why
        status = copy.deepcopy(hpa.get("status") or {})
        rescaled = False
        if decision.replicas != current and active[0]:
            try:
                await write_replicas(self.api, scale, decision.replicas)
            except Conflict:
                return  # the target changed under us: the next sync reads it again
            except JetkubeError as err:
                await self.record(
                    hpa, "Warning", "FailedRescale", f"New size: {decision.replicas}; error: {err}"
                )
                return
            rescaled = True
            self.events.setdefault(key, []).append(ScaleEvent(self.monotonic(), decision.replicas - current))
            self.events[key] = [e for e in self.events[key] if self.monotonic() - e.time < 3600]
            message = f"New size: {decision.replicas}; reason: {decision.reason}"
            await self.record(hpa, "Normal", "SuccessfulRescale", message)
            log.info(
                "hpa.rescaled",
                hpa=key,
                target=f"{scale.plural}/{scale.name}",
                old=current,
                new=decision.replicas,
            )
            status["lastScaleTime"] = now_text
        status.update(
            {
                "observedGeneration": (hpa.get("metadata") or {}).get("generation"),
                "currentReplicas": scale.status_replicas,
                "desiredReplicas": decision.replicas if active[0] else current,
                "currentMetrics": metrics or None,
                "conditions": [
                    condition(
                        "AbleToScale",
                        True,
                        "SucceededRescale" if rescaled else "ReadyForNewScale",
                        f"the HPA controller was able to update the target scale to {decision.replicas}"
                        if rescaled
                        else "recommended size matches current size",
                        old_conditions,
                        now_text,
                    ),
                    condition("ScalingActive", *active, old_conditions, now_text),
                    condition(
                        "ScalingLimited",
                        decision.limited,
                        decision.reason if decision.limited else "DesiredWithinRange",
                        "the desired count is within the acceptable range"
                        if not decision.limited
                        else f"the desired replica count was limited ({decision.reason})",
                        old_conditions,
                        now_text,
                    ),
                ],
            }
        )
        status = {k: v for k, v in status.items() if v is not None}
        if status != (hpa.get("status") or {}):
            await self.write_status(hpa, status)

    async def propose(
        self, current: int, spec: Obj, pods: list[Obj]
    ) -> tuple[int, str, list[tuple[Obj, Proposal]]]:
        from actors.autoscaler.algorithm import metrics_of

        resources = sorted({m["resource"]["name"] for m in metrics_of(spec)})
        nodes = sorted(
            {
                str((p.get("spec") or {}).get("nodeName"))
                for p in pods
                if (p.get("spec") or {}).get("nodeName")
            }
        )
        usage = await self.usage(self.api, nodes) if nodes else {}
        return recommend(current, spec, samples_for(pods, usage, resources))

    async def write_status(self, hpa: Obj, status: Obj) -> None:
        body = copy.deepcopy(hpa)
        body["status"] = status
        try:
            await self.api.update_status("horizontalpodautoscalers", body)
        except Conflict:
            pass  # the informer brings the newer object; the next sync writes again
