"""The HPA on real kubelets: busybox pods that burn CPU make it scale a ReplicaSet up, and it
scales back down when the load stops (small windows: sync every second, a 2 s down window).

The pods are pinned to the test's node in the template (no scheduler in this fixture); their CPU
is capped at 200m so the burn costs the shared machine little, against a 100m request: 200% of it.
"""

from __future__ import annotations

from typing import Any

from actors.autoscaler.controller import HorizontalPodAutoscalerController
from actors.replication.controller import ReplicaSetController
from actors.runtime.controller import run_controller
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor
from bus.events import EventRecorder
from tests.e2e.observability.conftest import BUSYBOX
from tests.waiting import jetkube
from tests.waiting import wait_for as eventually

BURN = "while [ ! -f /tmp/stop ]; do :; done; exec sleep 3600"


def replica_set(node: str, script: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "burn", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "burn"}},
            "template": {
                "metadata": {"labels": {"app": "burn"}},
                "spec": {
                    "nodeName": node,
                    "terminationGracePeriodSeconds": 0,
                    "containers": [
                        {
                            "name": "c",
                            "image": BUSYBOX,
                            "command": ["sh", "-c", script],
                            "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}},
                        }
                    ],
                },
            },
        },
    }


HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "burn", "namespace": "default"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "burn"},
        "minReplicas": 1,
        "maxReplicas": 3,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
            }
        ],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 2}},
    },
}


async def test_busy_pods_scale_up_and_idle_pods_scale_down(nodes: Any, api: Any) -> None:
    cluster = await nodes(1)
    node = cluster.names[0]
    sup = Supervisor("hpa-e2e")
    informers = SharedInformers(api)
    controllers = [
        ReplicaSetController(api, informers),
        HorizontalPodAutoscalerController(
            api, informers, sync_period=1.0, recorder=EventRecorder(api.bus, "horizontal-pod-autoscaler")
        ),
    ]
    informers.start(sup)
    for ctrl in controllers:
        sup.spawn(ctrl.name, lambda c=ctrl: run_controller(c))
    try:
        await api.create("replicasets", replica_set(node, BURN))
        await api.create("horizontalpodautoscalers", HPA)

        async def replicas(at_least: int | None = None, exactly: int | None = None) -> int | None:
            got = (await api.get("replicasets", "burn", "default"))["spec"]["replicas"]
            ok = got >= at_least if at_least is not None else got == exactly
            return got if ok else None

        await eventually(lambda: replicas(at_least=2), 90, "the HPA to scale the busy ReplicaSet up")
        code, out, err = await jetkube(cluster.url, "get", "hpa", "burn")
        assert code == 0, err
        assert out.splitlines()[0].split()[:3] == ["NAME", "REFERENCE", "TARGETS"]
        assert "ReplicaSet/burn" in out and "/50%" in out

        # stop the load: new pods idle, running pods stop burning
        rs = await api.get("replicasets", "burn", "default")
        rs["spec"]["template"]["spec"]["containers"][0]["command"] = ["sh", "-c", "exec sleep 3600"]
        await api.update("replicasets", rs, "default")

        async def all_stopped() -> bool:
            pods = (await api.list("pods", "default", label_selector="app=burn"))["items"]
            running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
            for pod in running:
                await jetkube(cluster.url, "exec", pod["metadata"]["name"], "--", "touch", "/tmp/stop")
            return bool(running) and len(running) == len(pods)

        await eventually(all_stopped, 60, "the burning pods to be told to stop")
        await eventually(lambda: replicas(exactly=1), 90, "the HPA to scale the idle ReplicaSet down")
        events = (await api.list("events", "default"))["items"]
        reasons = [e["message"] for e in events if e.get("reason") == "SuccessfulRescale"]
        assert any("above target" in m for m in reasons) and any("below target" in m for m in reasons), (
            reasons
        )
    finally:
        for ctrl in controllers:
            ctrl.queue.shutdown()
        await sup.stop()
        await api.delete("replicasets", "burn", "default")
        for pod in (await api.list("pods", "default"))["items"]:
            await api.delete("pods", pod["metadata"]["name"], "default", grace_period_seconds=0)
