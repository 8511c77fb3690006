"""A StatefulSet with a local-path claim per pod, on hollow nodes: ordered start, stable names and
claims, provisioning on the node the scheduler chose, scale down from the highest ordinal."""

from __future__ import annotations

from typing import Any

from dnslib import QTYPE

from actors.dns.records import resolve
from actors.storage.localpath import default_class
from schemas.errors import NotFound
from tests.waiting import wait_for

STS = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "web"},
    "spec": {
        "serviceName": "web",
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "www"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }
        ],
    },
}


def _ready(pod: dict[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return (pod.get("status") or {}).get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in conds
    )


async def test_statefulset_pods_come_up_in_order_each_with_its_claim(cluster: Any, tmp_path: Any) -> None:
    api = cluster
    klass = default_class()
    klass["parameters"] = {"nodePath": str(tmp_path)}
    await api.create("storageclasses", klass)
    headless = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
    }
    await api.create("services", headless, namespace="default")
    await api.create("statefulsets", STS, namespace="default")

    seen: list[tuple[str, list[str]]] = []  # (pod created, pods Ready at that moment)

    async def all_ready() -> bool:
        pods = {p["metadata"]["name"]: p for p in (await api.list("pods", "default"))["items"]}
        ready = sorted(n for n, p in pods.items() if _ready(p))
        for name in sorted(pods):
            if name not in {s[0] for s in seen}:
                seen.append((name, ready))
        return ready == ["web-0", "web-1", "web-2"]

    await wait_for(all_ready, 40, "web-0..2 Ready", interval=0.02)
    order = [name for name, _ in seen]
    assert order == ["web-0", "web-1", "web-2"], order
    # OrderedReady: web-1 appeared only once web-0 was Ready, web-2 once web-1 was
    assert "web-0" in dict(seen)["web-1"] and "web-1" in dict(seen)["web-2"], seen

    claims = {
        c["metadata"]["name"]: c for c in (await api.list("persistentvolumeclaims", "default"))["items"]
    }
    assert sorted(claims) == ["www-web-0", "www-web-1", "www-web-2"]
    for i in range(3):
        claim = claims[f"www-web-{i}"]
        assert claim["status"]["phase"] == "Bound"
        assert claim["spec"]["storageClassName"] == "local-path", "the default class"
        pod = await api.get("pods", f"web-{i}", "default")
        assert pod["spec"]["hostname"] == f"web-{i}" and pod["spec"]["subdomain"] == "web"
        volume = await api.get("persistentvolumes", claim["spec"]["volumeName"])
        hostnames = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
        assert hostnames["values"] == [pod["spec"]["nodeName"]], "the volume is on the pod's node"
        assert volume["spec"]["hostPath"]["path"].startswith(str(tmp_path))

    # each pod has its DNS name through the headless Service
    service = await api.get("services", "web", "default")

    async def every_name_resolves() -> bool:
        endpoints = await api.get("endpoints", "web", "default")
        for i in range(3):
            pod = await api.get("pods", f"web-{i}", "default")
            answer = resolve(
                f"web-{i}.web.default.svc.cluster.local",
                QTYPE.A,
                lambda _ns, _n: service,
                lambda _ns, _n, e=endpoints: e,
            )
            if answer is None or [str(rr.rdata) for rr in answer.answers] != [pod["status"]["podIP"]]:
                return False
        return True

    await wait_for(every_name_resolves, 20, "web-0..2.web.default.svc.cluster.local")

    # a deleted pod comes back with the same name, on the node of its claim's volume
    first = await api.get("pods", "web-1", "default")
    await api.delete("pods", "web-1", namespace="default", grace_period_seconds=0)

    async def back() -> dict[str, Any] | None:
        try:
            pod = await api.get("pods", "web-1", "default")
        except NotFound:
            return None
        return pod if pod["metadata"]["uid"] != first["metadata"]["uid"] and _ready(pod) else None

    again = await wait_for(back, 30, "web-1 made again")
    assert again["spec"]["nodeName"] == first["spec"]["nodeName"], "it follows its data"
    assert again["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "www-web-1"

    # scale down: web-2 goes first, web-1 next; their claims stay
    # (a patch: the controller's status writes move the resourceVersion under a read-then-update)
    await api.patch("statefulsets", "web", {"spec": {"replicas": 1}}, namespace="default")
    gone: list[str] = []

    async def scaled() -> bool:
        names = {p["metadata"]["name"] for p in (await api.list("pods", "default"))["items"]}
        for n in ("web-2", "web-1"):
            if n not in names and n not in gone:
                gone.append(n)
        return names == {"web-0"}

    await wait_for(scaled, 30, "scaled to 1", interval=0.02)
    assert gone == ["web-2", "web-1"]
    claims_left = sorted(
        c["metadata"]["name"] for c in (await api.list("persistentvolumeclaims", "default"))["items"]
    )
    assert claims_left == ["www-web-0", "www-web-1", "www-web-2"]

    async def status_says_one() -> bool:  # the controller writes status after the deletes
        status = (await api.get("statefulsets", "web", "default")).get("status") or {}
        return status.get("replicas") == 1 and status.get("readyReplicas") == 1

    await wait_for(status_says_one, 30, "status.replicas and readyReplicas 1")

    # deleted, the StatefulSet takes its pods with it (garbage collection) and leaves the claims
    await api.delete("statefulsets", "web", namespace="default")

    async def no_pods() -> bool:
        return not (await api.list("pods", "default"))["items"]

    await wait_for(no_pods, 30, "the pods collected")
    left = sorted(
        c["metadata"]["name"] for c in (await api.list("persistentvolumeclaims", "default"))["items"]
    )
    assert left == ["www-web-0", "www-web-1", "www-web-2"]


async def test_rolling_update_respects_the_partition(cluster: Any) -> None:
    from cli.commands.rollout import statefulset_status

    api = cluster
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 3,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "db"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
            },
        },
    }
    await api.create("statefulsets", sts, namespace="default")

    async def images() -> dict[str, str]:
        pods = (await api.list("pods", "default"))["items"]
        return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in pods if _ready(p)}

    async def all_at(expected: dict[str, str]) -> bool:
        return await images() == expected

    await wait_for(
        lambda: all_at({"db-0": "busybox:1", "db-1": "busybox:1", "db-2": "busybox:1"}), 30, "3 pods"
    )
    await api.patch(
        "statefulsets",
        "db",
        {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}},
        namespace="default",
    )
    await wait_for(
        lambda: all_at({"db-0": "busybox:1", "db-1": "busybox:2", "db-2": "busybox:2"}),
        30,
        "ordinals >= 1 updated",
    )

    async def complete() -> str | None:
        line, done = statefulset_status(await api.get("statefulsets", "db", "default"))
        return line if done else None

    line = await wait_for(complete, 20, "the partitioned rollout reported complete")
    assert line == "partitioned roll out complete: 2 new pods have been updated..."
    assert await images() == {"db-0": "busybox:1", "db-1": "busybox:2", "db-2": "busybox:2"}, "db-0 kept"


async def test_retention_policy_delete_removes_claims_with_their_pods_and_set(
    cluster: Any, tmp_path: Any
) -> None:
    api = cluster
    klass = default_class()
    klass["parameters"] = {"nodePath": str(tmp_path)}
    await api.create("storageclasses", klass)
    sts = {
        **STS,
        "metadata": {"name": "cache"},
        "spec": {
            **STS["spec"],
            "replicas": 2,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "cache"}},
            "template": {**STS["spec"]["template"], "metadata": {"labels": {"app": "cache"}}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"},
        },
    }
    await api.create("statefulsets", sts, namespace="default")

    async def claims() -> list[str]:
        return sorted(
            c["metadata"]["name"] for c in (await api.list("persistentvolumeclaims", "default"))["items"]
        )

    async def ready_pods() -> list[str]:
        return sorted(
            p["metadata"]["name"] for p in (await api.list("pods", "default"))["items"] if _ready(p)
        )

    await wait_for(lambda: _eq(ready_pods, ["cache-0", "cache-1"]), 30, "2 pods")
    assert await claims() == ["www-cache-0", "www-cache-1"]
    await api.patch("statefulsets", "cache", {"spec": {"replicas": 1}}, namespace="default")
    await wait_for(lambda: _eq(claims, ["www-cache-0"]), 30, "the scaled-away pod's claim deleted")
    await api.delete("statefulsets", "cache", namespace="default")
    await wait_for(lambda: _eq(claims, []), 30, "the set's claims deleted with it")


async def _eq(get: Any, expected: Any) -> bool:
    return await get() == expected
