"""The HPA controller against a real nats-server and the api: it scales ReplicaSets and
ReplicationControllers through their scale view, writes the HPA's status and records events.

The pods' usage comes from an explicit source (the controller's ``usage`` argument) so the test
can set it; the end-to-end test on Docker (tests/e2e/autoscaler) reads real kubelets' samples.
"""

from __future__ import annotations

from typing import Any

from actors.autoscaler.controller import HorizontalPodAutoscalerController
from actors.replication.controller import ReplicaSetController, ReplicationControllerManager
from bus.events import EventRecorder
from tests.integration.controllers.helpers import eventually, fake_kubelet, finalize_deletions, running

TEMPLATE = {
    "metadata": {"labels": {"app": "burn"}},
    "spec": {
        "nodeName": "n1",
        "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "100m"}}}],
    },
}


def hpa(kind: str, api_version: str, **spec: Any) -> dict:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "burn", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": api_version, "kind": kind, "name": "burn"},
            "minReplicas": 1,
            "maxReplicas": 6,
            **spec,
        },
    }


class Usage:
    """Every pod of the test uses ``cpu`` millicores."""

    def __init__(self) -> None:
        self.cpu = 0.0

    async def __call__(self, api: Any, nodes: list[str]) -> dict:
        pods = (await api.list("pods", "default"))["items"]
        return {("default", p["metadata"]["name"]): (self.cpu, 1e6) for p in pods}


def controllers(usage: Usage):
    def build(api: Any, informers: Any) -> list:
        recorder = EventRecorder(api.bus, "horizontal-pod-autoscaler")
        return [
            ReplicaSetController(api, informers),
            ReplicationControllerManager(api, informers),
            HorizontalPodAutoscalerController(
                api, informers, sync_period=0.2, usage=usage, recorder=recorder
            ),
        ]

    return build


async def test_replicaset_scales_up_on_cpu_then_down_after_the_window(api: Any) -> None:
    usage = Usage()
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "burn", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "burn"}}, "template": TEMPLATE},
    }
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 1}}
    metric = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
    }
    async with running(api, controllers(usage)), fake_kubelet(api):
        await api.create("replicasets", rs)
        usage.cpu = 90.0  # 90% of the 100m request, against 50%: ceil(1.8 × 2) = 4
        await api.create(
            "horizontalpodautoscalers", hpa("ReplicaSet", "apps/v1", metrics=[metric], behavior=behavior)
        )

        async def replicas(n: int) -> dict | None:
            await finalize_deletions(api)
            got = await api.get("replicasets", "burn", "default")
            return got if got["spec"]["replicas"] == n else None

        await eventually(lambda: replicas(4), 20)

        async def status() -> dict | None:
            got = await api.get("horizontalpodautoscalers", "burn", "default")
            st = got.get("status") or {}
            current = (st.get("currentMetrics") or [{}])[0].get("resource", {}).get("current", {})
            return st if current.get("averageUtilization") == 90 and st.get("desiredReplicas") == 4 else None

        st = await eventually(status, 20)
        assert st["lastScaleTime"]
        assert {c["type"]: c["status"] for c in st["conditions"]} == {
            "AbleToScale": "True",
            "ScalingActive": "True",
            "ScalingLimited": "False",
        }

        usage.cpu = 10.0  # 10%: ceil(0.2 × 4) = 1, once the 1 s window has passed
        await eventually(lambda: replicas(1), 20)

        async def rescale_events() -> list[str] | None:
            items = (await api.list("events", "default"))["items"]
            got = [e["message"] for e in items if e.get("reason") == "SuccessfulRescale"]
            return got if len(got) >= 2 else None

        messages = await eventually(rescale_events, 10)
        assert (
            "New size: 4; reason: cpu resource utilization (percentage of request) above target" in messages
        )
        assert "New size: 1; reason: All metrics below target" in messages


async def test_v1_hpa_scales_a_replication_controller_within_min_and_max(api: Any) -> None:
    usage = Usage()
    rc = {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "burn", "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"app": "burn"}, "template": TEMPLATE},
    }
    v1 = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "burn", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "v1", "kind": "ReplicationController", "name": "burn"},
            "minReplicas": 2,
            "maxReplicas": 3,
            "targetCPUUtilizationPercentage": 20,
        },
    }
    async with running(api, controllers(usage)), fake_kubelet(api):
        await api.create("replicationcontrollers", rc)
        usage.cpu = 100.0
        created = await api.create("horizontalpodautoscalers", v1)
        assert created["apiVersion"] == "autoscaling/v2"

        async def replicas(n: int) -> bool:
            got = await api.get("replicationcontrollers", "burn", "default")
            return got["spec"]["replicas"] == n

        # below min: 2 at once; then 500% of the target asks for 10, the max allows 3
        await eventually(lambda: replicas(3), 20)

        async def limited() -> bool:
            got = await api.get("horizontalpodautoscalers", "burn", "default")
            conds = {c["type"]: c for c in (got.get("status") or {}).get("conditions") or []}
            return conds.get("ScalingLimited", {}).get("reason") == "TooManyReplicas"

        await eventually(limited, 20)


async def test_a_target_without_scale_is_a_warning(api: Any) -> None:
    usage = Usage()
    async with running(api, controllers(usage)):
        await api.create("horizontalpodautoscalers", hpa("Job", "batch/v1"))

        async def refused() -> bool:
            got = await api.get("horizontalpodautoscalers", "burn", "default")
            conds = (got.get("status") or {}).get("conditions") or []
            return any(c["reason"] == "FailedGetScale" and 'kind "Job"' in c["message"] for c in conds)

        await eventually(refused, 20)
