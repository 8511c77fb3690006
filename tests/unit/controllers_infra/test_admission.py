"""Admission decisions as tables: ResourceQuota, LimitRange, namespace lifecycle."""

from __future__ import annotations

from typing import Any

import pytest

from actors.admission.limitrange import apply_limit_ranges
from actors.admission.namespace import check_create_in_namespace, check_delete_namespace
from actors.admission.quantities import format_quantity, parse
from actors.admission.quota import check_quota, compute_usage, quota_status, resource_for_key
from schemas.errors import Forbidden, NotFound


def pod(name: str = "p", phase: str = "Pending", **resources: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "x", "resources": dict(resources)}]},
        "status": {"phase": phase},
    }


def quota(name: str = "compute-quota", used: dict[str, str] | None = None, **hard: str) -> dict[str, Any]:
    q: dict[str, Any] = {"metadata": {"name": name, "namespace": "default"}, "spec": {"hard": dict(hard)}}
    if used is not None:
        q["status"] = {"hard": dict(hard), "used": used}
    return q


CPU2 = {"requests.cpu": "2"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2", "2"),
        ("500m", "500m"),
        ("1.5", "1500m"),
        ("1Gi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("1G", "1G"),
        (0, "0"),
    ],
)
def test_format_quantity(value: str, text: str) -> None:
    assert format_quantity(parse(value)) == text


def test_quota_exceeded_kubernetes_text() -> None:
    q = quota(used={"requests.cpu": "1"}, **CPU2)
    with pytest.raises(Forbidden) as info:
        check_quota([q], None, pod(requests={"cpu": "2"}), None, resource="pods")
    assert info.value.message == (
        'pods "p" is forbidden: exceeded quota: compute-quota, '
        "requested: requests.cpu=2, used: requests.cpu=1, limited: requests.cpu=2"
    )


def test_quota_admits_and_returns_new_used() -> None:
    q = quota(used={"requests.cpu": "500m", "pods": "1"}, pods="5", **CPU2)
    assert check_quota([q], None, pod(requests={"cpu": "1"}), None, resource="pods") == {
        "compute-quota": {"requests.cpu": "1500m", "pods": "2"}
    }


def test_quota_missing_request_refused() -> None:
    with pytest.raises(Forbidden) as info:
        check_quota([quota(used={"requests.cpu": "0"}, **CPU2)], None, pod(), None, resource="pods")
    assert (
        info.value.message == 'pods "p" is forbidden: failed quota: compute-quota: must specify requests.cpu'
    )
    with pytest.raises(Forbidden, match=r"must specify limits.memory,requests.cpu$"):
        check_quota([quota(used={}, cpu="1", **{"limits.memory": "1Gi"})], None, pod(), None, resource="pods")


def test_quota_count_and_status_unknown() -> None:
    q = quota("objects", used={"configmaps": "2"}, configmaps="2")
    cm = {"metadata": {"name": "cm", "namespace": "default"}}
    with pytest.raises(
        Forbidden, match=r"exceeded quota: objects, requested: configmaps=1, used: configmaps=2"
    ):
        check_quota([q], None, cm, None, resource="configmaps")
    with pytest.raises(Forbidden, match="status unknown for quota: objects, resource: configmaps"):
        check_quota([quota("objects", configmaps="2")], None, cm, None, resource="configmaps")
    # the api may pass a usage it computed itself
    assert check_quota(
        [quota("objects", configmaps="2")], {"objects": {"configmaps": "0"}}, cm, None, resource="configmaps"
    ) == {"objects": {"configmaps": "1"}}


def test_quota_count_slash_resource() -> None:
    q = quota("objects", used={"count/deployments.apps": "1"}, **{"count/deployments.apps": "1"})
    dep = {"metadata": {"name": "d", "namespace": "default"}}
    with pytest.raises(Forbidden, match=r"requested: count/deployments.apps=1"):
        check_quota([q], None, dep, None, resource="deployments")
    assert check_quota([q], None, {"metadata": {"name": "s"}}, None, resource="secrets") == {}


def test_quota_update_charges_only_the_delta() -> None:
    q = quota(
        "svc",
        used={"services.nodeports": "1", "services": "1"},
        **{"services.nodeports": "1", "services": "5"},
    )
    old = {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    new = {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}}
    with pytest.raises(Forbidden, match=r"requested: services\.nodeports=1, used: services\.nodeports=1"):
        check_quota([q], None, new, old, resource="services")
    assert check_quota([q], None, old, old, resource="services") == {}


def test_quota_scopes() -> None:
    q = quota("be", used={"pods": "1"}, pods="1")
    q["spec"]["scopes"] = ["BestEffort"]
    assert check_quota([q], None, pod(requests={"cpu": "1"}), None, resource="pods") == {}
    with pytest.raises(Forbidden):
        check_quota([q], None, pod(), None, resource="pods")


def test_compute_usage() -> None:
    q = quota(pods="10", cpu="4", **{"limits.memory": "2Gi", "count/pods": "10"})
    pods = [
        pod("a", "Running", requests={"cpu": "500m"}, limits={"memory": "512Mi"}),
        pod("b", "Running", requests={"cpu": "1"}, limits={"memory": "1Gi"}),
        pod("done", "Succeeded", requests={"cpu": "1"}),
        {**pod("other", requests={"cpu": "1"}), "metadata": {"name": "other", "namespace": "elsewhere"}},
    ]
    assert compute_usage(q, {"pods": pods}) == {
        "pods": "2",
        "cpu": "1500m",
        "limits.memory": "1536Mi",
        "count/pods": "2",
    }
    assert quota_status(q, {})["used"] == {"pods": "0", "cpu": "0", "limits.memory": "0", "count/pods": "0"}
    assert quota_status(q, {})["hard"] == q["spec"]["hard"]


@pytest.mark.parametrize(
    ("key", "resource"),
    [
        ("requests.cpu", "pods"),
        ("memory", "pods"),
        ("count/jobs.batch", "jobs"),
        ("services.nodeports", "services"),
        ("secrets", "secrets"),
        ("bogus", None),
    ],
)
def test_resource_for_key(key: str, resource: str | None) -> None:
    assert resource_for_key(key) == resource


LR = {
    "metadata": {"name": "limits"},
    "spec": {
        "limits": [
            {
                "type": "Container",
                "default": {"cpu": "500m", "memory": "256Mi"},
                "defaultRequest": {"cpu": "100m"},
                "min": {"cpu": "50m"},
                "max": {"cpu": "1"},
                "maxLimitRequestRatio": {"cpu": "10"},
            }
        ]
    },
}


def test_limit_range_defaults_and_annotation() -> None:
    p = pod(limits={"memory": "128Mi"})
    out = apply_limit_ranges(p, [LR])
    assert out["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "128Mi", "cpu": "500m"},
        "requests": {"cpu": "100m", "memory": "256Mi"},
    }
    assert out["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container c; cpu limit for container c"
    )
    assert p["spec"]["containers"][0]["resources"] == {"limits": {"memory": "128Mi"}}


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            {"limits": {"cpu": "2"}, "requests": {"cpu": "500m"}},
            "maximum cpu usage per Container is 1, but limit is 2",
        ),
        (
            {"requests": {"cpu": "10m"}, "limits": {"cpu": "50m"}},
            "minimum cpu usage per Container is 50m, but request is 10m",
        ),
        (
            {"requests": {"cpu": "50m"}, "limits": {"cpu": "1"}},
            "cpu max limit to request ratio per Container is 10, but provided ratio is 20.000000",
        ),
    ],
)
def test_limit_range_violations(resources: dict, message: str) -> None:
    with pytest.raises(Forbidden) as info:
        apply_limit_ranges(pod(**resources), [LR])
    assert info.value.message == f'pods "p" is forbidden: {message}'


def test_limit_range_pod_type_and_several_errors() -> None:
    lr = {"spec": {"limits": [{"type": "Pod", "max": {"memory": "1Gi", "cpu": "1"}}]}}
    with pytest.raises(Forbidden) as info:
        apply_limit_ranges(pod(limits={"memory": "2Gi"}), [lr])
    assert info.value.message == (
        'pods "p" is forbidden: [maximum memory usage per Pod is 1Gi, but limit is 2Gi, '
        "maximum cpu usage per Pod is 1.  No limit is specified]"
    )


def test_no_limit_ranges_is_identity() -> None:
    p = pod()
    assert apply_limit_ranges(p, []) is p


def test_namespace_admission() -> None:
    with pytest.raises(Forbidden) as info:
        check_delete_namespace("kube-system")
    assert info.value.message == 'namespaces "kube-system" is forbidden: this namespace may not be deleted'
    check_delete_namespace("team-a")
    with pytest.raises(NotFound, match='namespaces "nope" not found'):
        check_create_in_namespace(None, "pods", "p", "nope")
    terminating = {"metadata": {"name": "t", "deletionTimestamp": "x"}, "status": {"phase": "Terminating"}}
    with pytest.raises(Forbidden) as info:
        check_create_in_namespace(terminating, "pods", "p", "t")
    assert info.value.message == (
        'pods "p" is forbidden: unable to create new content in namespace t because it is being terminated'
    )
    check_create_in_namespace({"metadata": {"name": "ok"}, "status": {"phase": "Active"}}, "pods", "p", "ok")
