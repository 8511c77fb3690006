"""Objects as controllers and kubelets write them back: full status, server-set metadata."""

from __future__ import annotations

import datetime as dt

from schemas.decode import normalize

META = {
    "name": "p",
    "namespace": "default",
    "uid": "6f1c",
    "resourceVersion": "42",
    "generation": 1,
    "creationTimestamp": "2026-11-25T17:00:00Z",
    "ownerReferences": [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "rs",
            "uid": "1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ],
    "finalizers": ["example.com/keep"],
}


def test_pod_with_full_status_round_trips(subset) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": META,
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]},
        "status": {
            "phase": "Running",
            "hostIP": "10.0.0.1",
            "podIP": "172.17.0.2",
            "podIPs": [{"ip": "172.17.0.2"}],
            "startTime": "2026-11-25T17:00:01Z",
            "qosClass": "BestEffort",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-25T17:00:02Z"}],
            "containerStatuses": [
                {
                    "name": "c",
                    "ready": True,
                    "started": True,
                    "restartCount": 2,
                    "image": "busybox",
                    "imageID": "docker://sha256:abc",
                    "containerID": "docker://123",
                    "state": {"running": {"startedAt": "2026-11-25T17:00:02Z"}},
                    "lastState": {
                        "terminated": {"exitCode": 1, "reason": "Error", "message": "bye", "finishedAt": "x"}
                    },
                }
            ],
        },
    }
    out = normalize(pod)
    assert subset(pod, out) == []


def test_node_with_status_and_allocatable_default() -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}, "namespace": "ignored"},
        "spec": {"unschedulable": True, "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]},
        "status": {
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-25T17:00:00Z"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": "m", "systemUUID": "u", "bootID": "b", "kubeletVersion": "jetkube"},
        },
    }
    out = normalize(node)
    assert out["status"]["allocatable"] == {"cpu": "2", "memory": "4Gi", "pods": "110"}
    assert "namespace" not in out["metadata"]


def test_nulls_are_dropped_and_yaml_times_become_text() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "creationTimestamp": None, "labels": None},
        "data": {"a": "b"},
    }
    out = normalize(obj)
    assert out["metadata"] == {"name": "c", "namespace": "default"}
    obj["metadata"]["creationTimestamp"] = dt.datetime(2026, 11, 25, 17, 0, tzinfo=dt.UTC)
    assert normalize(obj)["metadata"]["creationTimestamp"] == "2026-11-25T17:00:00Z"


def test_secret_string_data_is_merged() -> None:
    out = normalize(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"u": "admin"}}
    )
    assert out["data"] == {"u": "YWRtaW4="}
    assert out["type"] == "Opaque"
    assert "stringData" not in out


def test_namespace_and_rc_defaults() -> None:
    ns = normalize(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}, default_namespace="x"
    )
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    assert ns["status"]["phase"] == "Active"
    assert "namespace" not in ns["metadata"]
    rc = normalize(
        {
            "apiVersion": "v1",
            "kind": "ReplicationController",
            "metadata": {"name": "nginx"},
            "spec": {
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {"containers": [{"name": "n", "image": "nginx"}]},
                }
            },
        },
        default_namespace="team-a",
    )
    assert rc["spec"]["selector"] == {"app": "nginx"}
    assert rc["spec"]["replicas"] == 1
    assert rc["metadata"]["labels"] == {"app": "nginx"}
    assert rc["metadata"]["namespace"] == "team-a"


def test_limits_become_requests_and_host_network_ports() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "hostNetwork": True,
            "containers": [
                {
                    "name": "c",
                    "image": "x:1",
                    "ports": [{"containerPort": 8080}],
                    "resources": {"limits": {"cpu": "1"}},
                }
            ],
        },
    }
    c = normalize(pod)["spec"]["containers"][0]
    assert c["resources"]["requests"] == {"cpu": "1"}
    assert c["ports"][0]["hostPort"] == 8080


def test_lease_and_event() -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "scheduler", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": "a",
            "leaseDurationSeconds": 15,
            "renewTime": "2026-11-25T17:00:00.000000Z",
            "leaseTransitions": 0,
        },
    }
    assert normalize(lease)["spec"]["holderIdentity"] == "a"
    ev = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "p.1"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Scheduled",
        "type": "Normal",
        "count": 1,
        "source": {"component": "scheduler"},
    }
    assert normalize(ev)["reason"] == "Scheduled"
