"""CephFS for real: the seed's CephFS pod and CephFS volumes mounted by the kubelets (ceph-fuse, or
the kernel client where the kernel has it) from the test bed's Ceph cluster (compose.yaml's
``ceph`` profile; tests/e2e/cephfs.py starts it when none answers at the seed's monitors).

Each test works in a directory of the filesystem named for its namespace. The pods are deleted at
the end of each test and the kubelets unmount their volumes before removing the pods' directories.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.kubelet.mounts import mounts_under, unmount_all
from schemas.errors import NotFound
from tests.e2e.cephfs import ADMIN_KEY, SEED_MONITORS, ceph_cluster, secret
from tests.e2e.controlplane.cluster import Cluster, node_name
from tests.e2e.controlplane.helpers import cli, wait
from tests.seedpaths import SEED_EXAMPLES

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def ceph(cluster: Cluster) -> Iterator[str]:
    with ceph_cluster() as monitor:
        try:
            yield monitor
        finally:  # a failed test may leave pods' mounts: never leave them for a tmp-dir cleanup
            asyncio.run(unmount_all(cluster.workdir / "kubelet"))


def cephfs(**fields: Any) -> Obj:
    return {"monitors": SEED_MONITORS, "user": "admin", "secretRef": {"name": "ceph-secret"}, **fields}


def pod(name: str, node: str, script: str, source: Obj, **mount: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "c",
                    "image": "busybox:latest",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", script],
                    "volumeMounts": [{"name": "fs", "mountPath": "/mnt/cephfs", **mount}],
                }
            ],
            "volumes": [{"name": "fs", **source}],
        },
    }


async def finished(api: Any, ns: str, name: str, timeout: float = 90) -> Obj:
    async def done() -> Obj | None:
        p = await api.get("pods", name, ns)
        return p if p.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

    return await wait(done, timeout, f"pod {name} to finish")  # type: ignore[no-any-return]


async def logs(cluster: Cluster, ns: str, name: str) -> str:
    code, out, err = await cli(cluster.url, "logs", "-n", ns, name)
    assert code == 0, err
    return out


async def delete_pods(api: Any, ns: str, names: list[str]) -> None:
    """Delete the pods and wait until they are gone (their volumes unmounted)."""
    for n in names:
        try:
            await api.delete("pods", n, namespace=ns)
        except NotFound:
            pass

    async def all_gone() -> bool:
        for n in names:
            try:
                await api.get("pods", n, ns)
                return False
            except NotFound:
                continue
        return True

    await wait(all_gone, 60, "the pods gone")


async def no_mounts_left(cluster: Cluster) -> None:
    """Wait until the kubelets have unmounted every volume (they do so once the pods are gone)."""

    async def none() -> bool:
        return not await asyncio.to_thread(mounts_under, cluster.workdir / "kubelet")

    await wait(none, 30, "every CephFS mount gone with its pod")


async def test_seed_cephfs_pod_runs_and_two_nodes_share_a_volume(
    cluster: Cluster, capi: Any, ns: str, ceph: str
) -> None:
    api = capi
    await api.create("secrets", secret(), namespace=ns)
    names: list[str] = []
    try:
        # the seed's pod as written: the bed's monitors, client.admin, ceph-secret, read-only
        seed_pod = str(SEED_EXAMPLES / "pod-cephfs.yaml")
        code, out, err = await cli(cluster.url, "apply", "-n", ns, "-f", seed_pod)
        assert code == 0, err
        names.append("cephfs2")

        async def seed_running() -> bool:
            p = await api.get("pods", "cephfs2", ns)
            return p.get("status", {}).get("phase") == "Running"

        await wait(seed_running, 90, "the seed's cephfs2 Running")

        # two pods on two nodes share one volume: each writes, each sees the other's write
        share = cephfs(path="/")
        script = (
            # written under another name and renamed once closed: the peer never sees the file
            # before its bytes (a file created empty, then written, can be seen empty)
            f"mkdir -p /mnt/cephfs/{ns} && echo from-$ME > /mnt/cephfs/{ns}/.$ME && "
            f"mv /mnt/cephfs/{ns}/.$ME /mnt/cephfs/{ns}/$ME && "
            f"until [ -s /mnt/cephfs/{ns}/$PEER ]; do sleep 0.2; done; cat /mnt/cephfs/{ns}/$PEER"
        )
        for me, peer, node in (("a", "b", node_name("a")), ("b", "a", node_name("b"))):
            p = pod(f"share-{me}", node, f"ME={me} PEER={peer}; {script}", {"cephfs": share})
            await api.create("pods", p, namespace=ns)
            names.append(f"share-{me}")
        for me, peer in (("a", "b"), ("b", "a")):
            done = await finished(api, ns, f"share-{me}")
            assert done["status"]["phase"] == "Succeeded", done["status"]
            assert (await logs(cluster, ns, f"share-{me}")).strip() == f"from-{peer}"
        nodes = {(await api.get("pods", f"share-{x}", ns))["spec"]["nodeName"] for x in "ab"}
        assert len(nodes) == 2, "the two pods ran on different nodes"

        # a subdirectory mount shows only that directory
        sub = cephfs(path=f"/{ns}/sub")
        writer = f"mkdir -p /mnt/cephfs/{ns}/sub && echo inside > /mnt/cephfs/{ns}/sub/only"
        await api.create("pods", pod("mksub", node_name("a"), writer, {"cephfs": share}), namespace=ns)
        names.append("mksub")
        assert (await finished(api, ns, "mksub"))["status"]["phase"] == "Succeeded"
        lister = pod("sub", node_name("b"), "ls -A /mnt/cephfs", {"cephfs": sub})
        await api.create("pods", lister, namespace=ns)
        names.append("sub")
        assert (await finished(api, ns, "sub"))["status"]["phase"] == "Succeeded"
        assert (await logs(cluster, ns, "sub")).split() == ["only"]

        # readOnly refuses writes (and still reads)
        ro = cephfs(path=f"/{ns}", readOnly=True)
        check = "cat /mnt/cephfs/a && if touch /mnt/cephfs/new 2>/tmp/e; then echo WROTE; else cat /tmp/e; fi"
        await api.create("pods", pod("ro", node_name("a"), check, {"cephfs": ro}), namespace=ns)
        names.append("ro")
        assert (await finished(api, ns, "ro"))["status"]["phase"] == "Succeeded"
        out = await logs(cluster, ns, "ro")
        assert "from-a" in out and "Read-only file system" in out and "WROTE" not in out, out
    finally:
        await delete_pods(api, ns, names)
    await no_mounts_left(cluster)


async def test_cephfs_secret_file_and_a_claimed_persistent_volume(
    cluster: Cluster, capi: Any, ns: str, ceph: str, tmp_path: Path
) -> None:
    api = capi
    # secretFile: a file on the node holding the bare key (both kubelets run on this host)
    key_file = tmp_path / "admin.secret"
    await asyncio.to_thread(key_file.write_text, ADMIN_KEY + "\n")
    names: list[str] = []
    try:
        by_file = {"monitors": SEED_MONITORS, "user": "admin", "secretFile": str(key_file)}
        mk = f"mkdir -p /mnt/cephfs/{ns}/pv && echo persisted > /mnt/cephfs/{ns}/pv/data"
        await api.create("pods", pod("by-file", node_name("a"), mk, {"cephfs": by_file}), namespace=ns)
        names.append("by-file")
        assert (await finished(api, ns, "by-file"))["status"]["phase"] == "Succeeded"

        # a CephFS PersistentVolume (its Secret named with a namespace), claimed and mounted
        await api.create("secrets", secret("ceph-pv-secret"), namespace=ns)
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"{ns}-cephfs"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "",
                "cephfs": {
                    "monitors": SEED_MONITORS,
                    "user": "admin",
                    "path": f"/{ns}/pv",
                    "secretRef": {"name": "ceph-pv-secret", "namespace": ns},
                },
            },
        }
        await api.create("persistentvolumes", pv)
        pvc = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "shared"},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "",
                "volumeName": f"{ns}-cephfs",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
        await api.create("persistentvolumeclaims", pvc, namespace=ns)
        claim = {"persistentVolumeClaim": {"claimName": "shared"}}
        for n, node in (("claim-a", node_name("a")), ("claim-b", node_name("b"))):
            script = f"cat /mnt/cephfs/data && echo {n} > /mnt/cephfs/{n}"
            await api.create("pods", pod(n, node, script, claim), namespace=ns)
            names.append(n)
        for n in ("claim-a", "claim-b"):
            assert (await finished(api, ns, n))["status"]["phase"] == "Succeeded"
            assert (await logs(cluster, ns, n)).strip() == "persisted"
        check = "ls /mnt/cephfs | sort | tr '\\n' ' '"
        await api.create("pods", pod("claim-ls", node_name("a"), check, claim), namespace=ns)
        names.append("claim-ls")
        assert (await finished(api, ns, "claim-ls"))["status"]["phase"] == "Succeeded"
        assert (await logs(cluster, ns, "claim-ls")).split() == ["claim-a", "claim-b", "data"]
    finally:
        await delete_pods(api, ns, names)
        try:
            await api.delete("persistentvolumeclaims", "shared", namespace=ns)
            await api.delete("persistentvolumes", f"{ns}-cephfs")
        except NotFound:
            pass
    await no_mounts_left(cluster)
