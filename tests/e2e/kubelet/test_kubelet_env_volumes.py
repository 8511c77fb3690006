"""Environment, downward API and volumes, as the seed's examples show them."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.e2e.kubelet.kubelet_fixtures import (
    KubeletHandle,
    cstatus,
    phase,
    running,
    seed_example,
    waiting_reason,
)

BUSYBOX = "gcr.io/google_containers/busybox"


async def wait_logs(
    k: KubeletHandle, pod: str, cond, timeout: float = 30.0, container: str | None = None
) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = await k.logs(pod, container)
        if cond(lines):
            return lines
        if time.monotonic() > deadline:
            pytest.fail(f"logs of {pod} never matched: {lines[-20:]}")
        await asyncio.sleep(0.2)


async def test_seed_downward_env(kubelet: KubeletHandle) -> None:
    await kubelet.create(seed_example("pod-downward-env.yaml"))
    p = await kubelet.wait_pod("dapi-test-pod", lambda p: phase(p) == "Succeeded", what="Succeeded")
    lines = await kubelet.logs("dapi-test-pod")
    assert "MY_POD_NAME=dapi-test-pod" in lines
    assert "MY_POD_NAMESPACE=default" in lines
    assert f"MY_POD_IP={p['status']['podIP']}" in lines


async def test_seed_downward_volume_follows_label_patch(kubelet: KubeletHandle) -> None:
    await kubelet.create(seed_example("pod-downward-volume.yaml"))
    name = "kubernetes-downwardapi-volume-example"
    await kubelet.wait_pod(name, running, what="Running")
    # Kubernetes' format: key="value" lines, sorted, no newline after the last (so cat runs them on)
    lines = await wait_logs(kubelet, name, lambda ls: len(ls) >= 4)
    assert lines[:3] == ['cluster="test-cluster1"', 'rack="rack-22"', 'zone="us-est-coast"build="two"']
    assert lines[3].startswith('builder="john-doe"')
    await kubelet.api.patch("pods", name, {"metadata": {"labels": {"rack": "rack-99"}}}, namespace="default")
    await wait_logs(kubelet, name, lambda ls: 'rack="rack-99"' in ls, timeout=30)


async def test_env_sources_and_expansion(kubelet: KubeletHandle) -> None:
    api = kubelet.api
    await api.create(
        "configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg"},
            "data": {"color": "blue", "size": "XL"},
        },
        namespace="default",
    )
    await api.create(
        "secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sec"},
            "stringData": {"password": "s3cret"},
        },
        namespace="default",
    )
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sh", "-c", "env"],
        "env": [
            {"name": "EARLY", "value": "x-$(COLOR)"},
            {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
            {"name": "GREETING", "value": "hello-$(COLOR)-$$(COLOR)"},
            {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
            {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "x", "optional": True}}},
            {
                "name": "MEM",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "LBL", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        ],
        "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CM_"}],
        "resources": {"limits": {"memory": "64Mi"}},
    }
    await kubelet.create(
        {
            "metadata": {"name": "envs", "labels": {"app": "demo"}},
            "spec": {"containers": [c], "restartPolicy": "Never"},
        }
    )
    await kubelet.wait_pod("envs", lambda p: phase(p) == "Succeeded", what="Succeeded")
    lines = await kubelet.logs("envs")
    for want in [
        "COLOR=blue",
        "PASS=s3cret",
        "MEM=64",
        f"NODE={kubelet.node}",
        "LBL=demo",
        "CM_color=blue",
        "CM_size=XL",
        "EARLY=x-$(COLOR)",
        "GREETING=hello-blue-$(COLOR)",
    ]:
        assert want in lines, (want, lines)
    assert not any(line.startswith("OPT=") for line in lines)


async def test_missing_config_map_key_is_create_container_config_error(kubelet: KubeletHandle) -> None:
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sleep", "3600"],
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}],
    }
    await kubelet.create({"metadata": {"name": "cfgerr"}, "spec": {"containers": [c]}})
    p = await kubelet.wait_pod(
        "cfgerr", lambda p: waiting_reason(p, "c") == "CreateContainerConfigError", what="reason"
    )
    assert cstatus(p, "c")["state"]["waiting"]["message"] == 'configmap "absent" not found'


async def test_missing_config_map_volume_waits_then_starts(kubelet: KubeletHandle) -> None:
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sh", "-c", "cat /cfg/greeting; echo; sleep 3600"],
        "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}],
    }
    await kubelet.create(
        {
            "metadata": {"name": "waitcm"},
            "spec": {"containers": [c], "volumes": [{"name": "cfg", "configMap": {"name": "late"}}]},
        }
    )
    ev = await kubelet.wait_event("waitcm", "FailedMount")
    assert ev["type"] == "Warning" and 'configmap "late" not found' in ev["message"]
    p = await kubelet.get("waitcm")
    assert phase(p) == "Pending" and waiting_reason(p, "c") == "ContainerCreating"
    await kubelet.api.create(
        "configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "late"},
            "data": {"greeting": "hi there"},
        },
        namespace="default",
    )
    await kubelet.wait_pod("waitcm", running, timeout=40, what="Running once the ConfigMap exists")
    await wait_logs(kubelet, "waitcm", lambda ls: ls[:1] == ["hi there"])


async def test_secret_volume_file_follows_secret_update(kubelet: KubeletHandle) -> None:
    api = kubelet.api
    await api.create(
        "secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tok"}, "stringData": {"token": "one"}},
        namespace="default",
    )
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": [
            "sh",
            "-c",
            "while true; do echo T=$(cat /s/the-token); ls -lL /s/the-token; sleep 0.5; done",
        ],
        "volumeMounts": [{"name": "s", "mountPath": "/s", "readOnly": True}],
    }
    vol = {
        "name": "s",
        "secret": {
            "secretName": "tok",
            "items": [{"key": "token", "path": "the-token"}],
            "defaultMode": 0o400,
        },
    }
    await kubelet.create({"metadata": {"name": "secvol"}, "spec": {"containers": [c], "volumes": [vol]}})
    await kubelet.wait_pod("secvol", running, what="Running")
    await wait_logs(kubelet, "secvol", lambda ls: "T=one" in ls)
    sec = await api.get("secrets", "tok", "default")
    sec["stringData"] = {"token": "two"}
    sec.pop("data", None)
    await api.update("secrets", sec)
    await wait_logs(kubelet, "secvol", lambda ls: "T=two" in ls, timeout=30)
    lines = await kubelet.logs("secvol")
    assert any(line.startswith("-r--------") for line in lines), lines[-4:]


async def test_empty_dir_shared_and_memory_medium(kubelet: KubeletHandle, tmp_path) -> None:
    mounts = [
        {"name": "mem", "mountPath": "/mem"},
        {"name": "disk", "mountPath": "/disk"},
        {"name": "host", "mountPath": "/host"},
    ]
    writer = {
        "name": "w",
        "image": BUSYBOX,
        "volumeMounts": mounts,
        "command": ["sh", "-c", "echo hi > /disk/f; grep ' /mem ' /proc/mounts > /host/mounts; sleep 3600"],
    }
    reader = {
        "name": "r",
        "image": BUSYBOX,
        "volumeMounts": mounts,
        "command": ["sh", "-c", "until [ -e /disk/f ]; do sleep 0.1; done; cat /disk/f; sleep 3600"],
    }
    vols = [
        {"name": "mem", "emptyDir": {"medium": "Memory"}},
        {"name": "disk", "emptyDir": {}},
        {"name": "host", "hostPath": {"path": str(tmp_path / "hp"), "type": "DirectoryOrCreate"}},
    ]
    await kubelet.create(
        {"metadata": {"name": "vols"}, "spec": {"containers": [writer, reader], "volumes": vols}}
    )
    await kubelet.wait_pod("vols", running, what="Running")
    await wait_logs(kubelet, "vols", lambda ls: ls == ["hi"], container="r")
    deadline = time.monotonic() + 10
    while not (tmp_path / "hp" / "mounts").exists() or not (tmp_path / "hp" / "mounts").read_text():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert "tmpfs" in (tmp_path / "hp" / "mounts").read_text()


async def test_seed_cephfs_without_a_cluster_is_failed_mount(kubelet: KubeletHandle) -> None:
    # the seed's pod with its monitors moved to TEST-NET-1 (nothing answers there, whether or not
    # the bed's ceph profile runs at the seed's own addresses)
    pod = seed_example("pod-cephfs.yaml")
    mons = ["192.0.2.78:6789", "192.0.2.82:6789", "192.0.2.83:6789"]
    for vol in pod["spec"]["volumes"]:
        if "cephfs" in vol:
            vol["cephfs"]["monitors"] = mons
    await kubelet.create(pod)
    ev = await kubelet.wait_event("cephfs2", "FailedMount", timeout=30)
    assert ev["type"] == "Warning"
    for mon in mons:
        assert mon in ev["message"]
    p = await kubelet.get("cephfs2")
    assert phase(p) == "Pending" and waiting_reason(p, "cephfs-rw") == "ContainerCreating"
    # nothing else breaks: another pod on the node runs
    await kubelet.create(
        {
            "metadata": {"name": "other"},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX, "command": ["sleep", "3600"]}]},
        }
    )
    await kubelet.wait_pod("other", running, what="Running")
