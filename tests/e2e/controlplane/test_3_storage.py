"""local-path claims on real Docker kubelets: data outlives its pod, follows the claim to a new
pod on the same node, and the claim's deletion removes (Delete) or keeps (Retain) the directory.
A StatefulSet pod deleted comes back with its name, its claim and its data.

The cluster is the package's (conftest.py), shared by the modules, which run in their numbered order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from schemas.errors import NotFound
from tests.e2e.controlplane.cluster import Cluster
from tests.e2e.controlplane.helpers import cli, wait


def storage_class(name: str, node_path: Path, policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "rancher.io/local-path",
        "reclaimPolicy": policy,
        "volumeBindingMode": "WaitForFirstConsumer",
        "parameters": {"nodePath": str(node_path)},
    }


def claim(name: str, klass: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": klass,
            "resources": {"requests": {"storage": "64Mi"}},
        },
    }


def run_pod(name: str, claim_name: str, script: str, **mount: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "c",
                    "image": "busybox:latest",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", script],
                    "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "volumeMounts": [{"name": "data", "mountPath": "/data", **mount}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}],
        },
    }


async def finished(api: Any, ns: str, name: str, timeout: float = 60) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        pod = await api.get("pods", name, ns)
        return pod if pod.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

    return await wait(done, timeout, f"pod {name} to finish")  # type: ignore[no-any-return]


async def gone(api: Any, resource: str, name: str, ns: str | None = None) -> bool:
    try:
        await api.get(resource, name, ns)
    except NotFound:
        return True
    return False


async def test_local_path_claim_keeps_data_across_pods_and_is_reclaimed(
    cluster: Cluster, capi: Any, ns: str, tmp_path: Path
) -> None:
    api = capi
    await api.create("storageclasses", storage_class(f"{ns}-del", tmp_path / "del", "Delete"))
    await api.create("storageclasses", storage_class(f"{ns}-ret", tmp_path / "ret", "Retain"))
    await api.create("persistentvolumeclaims", claim("data", f"{ns}-del"), namespace=ns)
    await api.create("persistentvolumeclaims", claim("kept", f"{ns}-ret"), namespace=ns)

    writer = run_pod("writer", "data", "echo hello > /data/greeting && echo sub > /data/sub.txt")
    await api.create("pods", writer, namespace=ns)
    first = await finished(api, ns, "writer")
    assert first["status"]["phase"] == "Succeeded", first["status"]
    bound = await api.get("persistentvolumeclaims", "data", ns)
    assert bound["status"]["phase"] == "Bound"
    volume = await api.get("persistentvolumes", bound["spec"]["volumeName"])
    directory = Path(volume["spec"]["hostPath"]["path"])
    assert directory.parent == tmp_path / "del"
    assert (directory / "greeting").read_text() == "hello\n", "the data is in the claim's directory"
    await api.delete("pods", "writer", namespace=ns)
    await wait(lambda: gone(api, "pods", "writer", ns), 30, "writer gone")

    # a new pod of the same claim reads it back, on the node the data is on; readOnly refuses writes
    script = "grep -qx hello /data/greeting && ! touch /data/x 2>/dev/null"
    await api.create("pods", run_pod("reader", "data", script, readOnly=True), namespace=ns)
    second = await finished(api, ns, "reader")
    assert second["spec"]["nodeName"] == first["spec"]["nodeName"], "the pod follows its data"
    assert second["status"]["phase"] == "Succeeded", "it read the data and could not write"
    assert not await asyncio.to_thread((directory / "x").exists)

    # subPathExpr: each pod its own directory inside the claim
    per_pod = run_pod("sub-a", "data", "echo mine > /data/own", subPathExpr="$(POD_NAME)")
    await api.create("pods", per_pod, namespace=ns)
    assert (await finished(api, ns, "sub-a"))["status"]["phase"] == "Succeeded"
    assert (directory / "sub-a" / "own").read_text() == "mine\n"

    # Delete: the claim deleted (its pods finished), the volume and the directory go
    await api.delete("persistentvolumeclaims", "data", namespace=ns)
    await wait(lambda: gone(api, "persistentvolumes", volume["metadata"]["name"]), 60, "the volume deleted")
    assert not await asyncio.to_thread(directory.exists), "the helper pod removed the directory"

    # Retain: the claim's directory and volume stay, Released
    keeper = run_pod("keeper", "kept", "echo stays > /data/f")
    await api.create("pods", keeper, namespace=ns)
    assert (await finished(api, ns, "keeper"))["status"]["phase"] == "Succeeded"
    kept = await api.get("persistentvolumeclaims", "kept", ns)
    kept_volume = kept["spec"]["volumeName"]
    kept_dir = Path((await api.get("persistentvolumes", kept_volume))["spec"]["hostPath"]["path"])
    await api.delete("pods", "keeper", namespace=ns)
    await api.delete("persistentvolumeclaims", "kept", namespace=ns)

    async def released() -> bool:
        return (await api.get("persistentvolumes", kept_volume))["status"]["phase"] == "Released"

    await wait(released, 30, "the retained volume Released")
    assert (kept_dir / "f").read_text() == "stays\n"
    code, out, err = await cli(cluster.url, "get", "pv", kept_volume)
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split() == [
        "NAME",
        "CAPACITY",
        "ACCESS",
        "MODES",
        "RECLAIM",
        "POLICY",
        "STATUS",
        "CLAIM",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "REASON",
        "AGE",
    ]
    assert row.split()[:6] == [kept_volume, "64Mi", "RWO", "Retain", "Released", f"{ns}/kept"]
    await api.delete("persistentvolumes", kept_volume)


STS = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "web"},
    "spec": {
        "serviceName": "web",
        "replicas": 2,
        "podManagementPolicy": "Parallel",  # the order is tested on hollow nodes (tests/integration/storage)
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "c",
                        "image": "busybox:latest",
                        "imagePullPolicy": "IfNotPresent",
                        "command": [
                            "sh",
                            "-c",
                            "if [ -f /data/id ]; then echo again >> /data/id; else hostname > /data/id; fi; "
                            "exec sleep 3600",
                        ],
                        "volumeMounts": [{"name": "www", "mountPath": "/data"}],
                    }
                ],
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "www"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}},
            }
        ],
    },
}


async def test_statefulset_pod_comes_back_with_its_claim_and_data(
    cluster: Cluster, capi: Any, ns: str, tmp_path: Path
) -> None:
    api = capi
    await api.create("storageclasses", storage_class(f"{ns}-sts", tmp_path, "Delete"))
    sts = {**STS, "spec": {**STS["spec"]}}
    sts["spec"]["volumeClaimTemplates"] = [
        {
            **STS["spec"]["volumeClaimTemplates"][0],
            "spec": {**STS["spec"]["volumeClaimTemplates"][0]["spec"], "storageClassName": f"{ns}-sts"},
        }
    ]
    await api.create("statefulsets", sts, namespace=ns)
    code, out, err = await cli(cluster.url, "rollout", "status", "sts/web", "-n", ns, "--timeout", "90s")
    assert code == 0, (out, err)
    assert out.splitlines()[-1].startswith("statefulset rolling update complete 2 pods at revision web-"), out
    first = await api.get("pods", "web-1", ns)
    claim_of_1 = await api.get("persistentvolumeclaims", "www-web-1", ns)
    data = Path(
        (await api.get("persistentvolumes", claim_of_1["spec"]["volumeName"]))["spec"]["hostPath"]["path"]
    )
    assert (data / "id").read_text() == "web-1\n"
    await api.delete("pods", "web-1", namespace=ns, grace_period_seconds=0)

    async def back() -> dict[str, Any] | None:
        try:
            pod = await api.get("pods", "web-1", ns)
        except NotFound:
            return None
        if (
            pod["metadata"]["uid"] == first["metadata"]["uid"]
            or pod.get("status", {}).get("phase") != "Running"
        ):
            return None
        return pod

    again = await wait(back, 60, "web-1 made again")
    assert again["spec"]["nodeName"] == first["spec"]["nodeName"]

    async def appended() -> bool:
        return (data / "id").read_text() == "web-1\nagain\n"

    await wait(appended, 30, "web-1 to find its id file (the same data) and append to it")
    code, out, err = await cli(cluster.url, "get", "sts", "web", "-n", ns)
    assert code == 0, err
    assert out.split()[:4] == ["NAME", "READY", "AGE", "web"] and out.split()[4] == "2/2", out
    await api.delete("statefulsets", "web", namespace=ns)
