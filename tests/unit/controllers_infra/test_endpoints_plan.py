"""Endpoints decisions as tables: Service + pods in, subsets / actions out."""

from __future__ import annotations

from typing import Any

import pytest

from actors.endpoints.plan import (
    CreateEndpoints,
    DeleteEndpoints,
    UpdateEndpoints,
    compute_subsets,
    plan,
)


def svc(
    ports: list[dict[str, Any]] | None = None,
    selector: dict[str, str] | None = None,
    cluster_ip: str = "10.96.0.10",
    **spec: Any,
) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "selector": {"app": "web"} if selector is None else selector,
            "clusterIP": cluster_ip,
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}] if ports is None else ports,
            **spec,
        },
    }


def pod(
    name: str,
    ip: str | None = "10.0.0.1",
    ready: bool = True,
    labels: dict[str, str] | None = None,
    node: str = "n1",
    container_ports: list[dict[str, Any]] | None = None,
    namespace: str = "default",
    phase: str = "Running",
    deleting: bool = False,
    restart: str = "Always",
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{name}",
        "labels": {"app": "web"} if labels is None else labels,
    }
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    if ip:
        status["podIP"] = ip
    return {
        "metadata": meta,
        "spec": {
            "nodeName": node,
            "restartPolicy": restart,
            "containers": [{"name": "c", "image": "x", "ports": container_ports or []}],
        },
        "status": status,
    }


def addr(name: str, ip: str, node: str = "n1") -> dict[str, Any]:
    return {
        "ip": ip,
        "nodeName": node,
        "targetRef": {"kind": "Pod", "namespace": "default", "name": name, "uid": f"uid-{name}"},
    }


P80 = [{"port": 8080, "protocol": "TCP"}]

CASES = [
    pytest.param(svc(), [], [], id="no-pods"),
    pytest.param(
        svc(),
        [pod("b", "10.0.0.2"), pod("a", "10.0.0.1")],
        [{"addresses": [addr("a", "10.0.0.1"), addr("b", "10.0.0.2")], "ports": P80}],
        id="ready-sorted-by-ip",
    ),
    pytest.param(
        svc(),
        [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False)],
        [{"addresses": [addr("a", "10.0.0.1")], "notReadyAddresses": [addr("b", "10.0.0.2")], "ports": P80}],
        id="not-ready",
    ),
    pytest.param(svc(), [pod("a", ip=None)], [], id="no-ip-skipped"),
    pytest.param(svc(), [pod("a", deleting=True)], [], id="terminating-skipped"),
    pytest.param(svc(), [pod("a", labels={"app": "db"})], [], id="selector-mismatch"),
    pytest.param(svc(), [pod("a", namespace="other")], [], id="other-namespace"),
    pytest.param(
        svc(), [pod("a", phase="Failed", ready=False, restart="Never")], [], id="failed-never-skipped"
    ),
    pytest.param(
        svc(),
        [pod("a", phase="Failed", ready=False, restart="Always")],
        [{"notReadyAddresses": [addr("a", "10.0.0.1")], "ports": P80}],
        id="failed-always-kept-not-ready",
    ),
    pytest.param(
        svc(publishNotReadyAddresses=True),
        [pod("a", ready=False), pod("b", "10.0.0.2", deleting=True)],
        [{"addresses": [addr("a", "10.0.0.1"), addr("b", "10.0.0.2")], "ports": P80}],
        id="publish-not-ready",
    ),
    pytest.param(
        svc(ports=[{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}]),
        [
            pod("a", "10.0.0.1", container_ports=[{"name": "web", "containerPort": 8080}]),
            pod("b", "10.0.0.2", container_ports=[{"name": "web", "containerPort": 9090}]),
            pod("c", "10.0.0.3", container_ports=[{"name": "web", "containerPort": 8080}]),
            pod("d", "10.0.0.4", container_ports=[{"name": "other", "containerPort": 1}]),
        ],
        [
            {
                "addresses": [addr("a", "10.0.0.1"), addr("c", "10.0.0.3")],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            },
            {
                "addresses": [addr("b", "10.0.0.2")],
                "ports": [{"name": "http", "port": 9090, "protocol": "TCP"}],
            },
        ],
        id="named-port-split-subsets",
    ),
    pytest.param(
        svc(ports=[{"name": "dns", "port": 53, "targetPort": "dns", "protocol": "UDP"}]),
        [pod("a", container_ports=[{"name": "dns", "containerPort": 5353, "protocol": "TCP"}])],
        [],
        id="named-port-protocol-must-match",
    ),
    pytest.param(
        svc(ports=[{"port": 80, "protocol": "TCP"}]),
        [pod("a")],
        [{"addresses": [addr("a", "10.0.0.1")], "ports": [{"port": 80, "protocol": "TCP"}]}],
        id="target-port-defaults-to-port",
    ),
    pytest.param(
        svc(ports=[], cluster_ip="None"),
        [pod("a")],
        [{"addresses": [addr("a", "10.0.0.1")]}],
        id="headless-no-ports",
    ),
]


@pytest.mark.parametrize(("service", "pods", "expected"), CASES)
def test_compute_subsets(service: dict, pods: list[dict], expected: list[dict]) -> None:
    assert compute_subsets(service, pods) == expected


def test_hostname_for_subdomain() -> None:
    p = pod("a")
    p["spec"]["hostname"] = "h"
    p["spec"]["subdomain"] = "web"
    [subset] = compute_subsets(svc(cluster_ip="None"), [p])
    assert subset["addresses"][0]["hostname"] == "h"


def test_plan_create() -> None:
    [action] = plan(svc(), [pod("a")], None, namespace="default", name="web")
    assert action == CreateEndpoints(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "subsets": [{"addresses": [addr("a", "10.0.0.1")], "ports": P80}],
        }
    )


def test_plan_no_write_when_unchanged() -> None:
    [create] = plan(svc(), [pod("a")], None, namespace="default", name="web")
    existing = {**create.endpoints, "metadata": {**create.endpoints["metadata"], "resourceVersion": "7"}}
    assert plan(svc(), [pod("a")], existing, namespace="default", name="web") == []


def test_plan_update_on_readiness_change_keeps_resource_version() -> None:
    [create] = plan(svc(), [pod("a")], None, namespace="default", name="web")
    existing = {**create.endpoints, "metadata": {**create.endpoints["metadata"], "resourceVersion": "7"}}
    [action] = plan(svc(), [pod("a", ready=False)], existing, namespace="default", name="web")
    assert isinstance(action, UpdateEndpoints)
    assert action.endpoints["metadata"]["resourceVersion"] == "7"
    assert action.endpoints["subsets"] == [{"notReadyAddresses": [addr("a", "10.0.0.1")], "ports": P80}]
    assert existing["subsets"][0]["addresses"]  # the cached object is untouched


def test_plan_service_gone_deletes() -> None:
    assert plan(None, [], {"metadata": {}}, namespace="default", name="web") == [
        DeleteEndpoints("default", "web")
    ]
    assert plan(None, [], None, namespace="default", name="web") == []


def test_plan_selectorless_service_left_alone() -> None:
    assert plan(svc(selector={}), [pod("a")], None, namespace="default", name="web") == []


def test_headless_label() -> None:
    [action] = plan(svc(cluster_ip="None"), [], None, namespace="default", name="web")
    assert action.endpoints["metadata"]["labels"] == {"app": "web", "service.kubernetes.io/headless": ""}
