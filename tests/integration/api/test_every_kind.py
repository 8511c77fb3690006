"""Create, get, list, update and delete of every kind through the api actor."""

from __future__ import annotations

from typing import Any

import pytest

from bus.client import ApiClient
from schemas.errors import MethodNotAllowed, NotFound

TEMPLATE = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
SELECTOR = {"matchLabels": {"app": "x"}}

KINDS: list[tuple[str, dict[str, Any]]] = [
    (
        "pods",
        {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
    ),
    ("nodes", {"apiVersion": "v1", "kind": "Node", "spec": {}}),
    ("namespaces", {"apiVersion": "v1", "kind": "Namespace"}),
    (
        "services",
        {"apiVersion": "v1", "kind": "Service", "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}},
    ),
    (
        "endpoints",
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "subsets": [{"addresses": [{"ip": "10.1.0.5"}], "ports": [{"port": 80}]}],
        },
    ),
    ("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}),
    ("secrets", {"apiVersion": "v1", "kind": "Secret", "stringData": {"password": "s3cret"}}),
    (
        "replicationcontrollers",
        {"apiVersion": "v1", "kind": "ReplicationController", "spec": {"replicas": 0, "template": TEMPLATE}},
    ),
    ("resourcequotas", {"apiVersion": "v1", "kind": "ResourceQuota", "spec": {"hard": {"pods": "10"}}}),
    (
        "limitranges",
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "100m"}}]},
        },
    ),
    (
        "deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE},
        },
    ),
    (
        "replicasets",
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE},
        },
    ),
    (
        "daemonsets",
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": {"selector": SELECTOR, "template": TEMPLATE}},
    ),
    (
        "jobs",
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "spec": {
                "suspend": True,
                "template": {
                    "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}
                },
            },
        },
    ),
    (
        "cronjobs",
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "spec": {
                "schedule": "*/5 * * * *",
                "suspend": True,
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [{"name": "c", "image": "busybox"}],
                                "restartPolicy": "Never",
                            }
                        }
                    }
                },
            },
        },
    ),
    (
        "horizontalpodautoscalers",
        {
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "maxReplicas": 3,
                "targetCPUUtilizationPercentage": 50,
            },
        },
    ),
]


@pytest.mark.parametrize(("resource", "body"), KINDS, ids=[k for k, _ in KINDS])
async def test_crud_of_every_kind(api: ApiClient, resource: str, body: dict[str, Any]) -> None:
    obj = {**body, "metadata": {"name": "obj-1", "labels": {"round": "trip"}}}
    created = await api.create(resource, obj)
    ns = created["metadata"].get("namespace")
    got = await api.get(resource, "obj-1", ns)
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    listed = await api.list(resource, ns, label_selector="round=trip")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["obj-1"]
    got["metadata"]["labels"]["round"] = "two"
    updated = await api.update(resource, got)
    assert updated["metadata"]["labels"]["round"] == "two"
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    await api.delete(resource, "obj-1", ns)
    if resource == "namespaces":  # a namespace drains first (its controller removes the finalizer)
        assert (await api.get(resource, "obj-1"))["status"]["phase"] == "Terminating"
        return
    with pytest.raises(NotFound):
        await api.get(resource, "obj-1", ns)


async def test_events_are_created_listed_and_immutable(api: ApiClient) -> None:
    ev = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Tested",
        "message": "hello",
        "type": "Normal",
    }
    created = await api.create("events", ev)
    assert created["metadata"]["uid"]
    listed = await api.list("events", "default", field_selector="involvedObject.name=p")
    assert [e["reason"] for e in listed["items"]] == ["Tested"]
    assert (await api.get("events", "e1", "default"))["message"] == "hello"
    with pytest.raises(MethodNotAllowed):
        await api.delete("events", "e1", "default")
