"""Resource names: every spelling kubectl accepts, and kubectl's words for unknown ones."""

from __future__ import annotations

import pytest

from schemas.errors import BadRequest
from schemas.registry import RESOURCES, by_api_version_kind, lookup

# (name, plural)
LOOKUP_TABLE = [
    ("po", "pods"),
    ("pod", "pods"),
    ("pods", "pods"),
    ("Pod", "pods"),
    ("PODS", "pods"),
    ("no", "nodes"),
    ("svc", "services"),
    ("ns", "namespaces"),
    ("rc", "replicationcontrollers"),
    ("rs", "replicasets"),
    ("deploy", "deployments"),
    ("deployments.apps", "deployments"),
    ("deployment.apps", "deployments"),
    ("deployments.v1.apps", "deployments"),
    ("deployments.extensions", "deployments"),
    ("ds", "daemonsets"),
    ("cm", "configmaps"),
    ("ev", "events"),
    ("cj", "cronjobs"),
    ("cronjobs.batch", "cronjobs"),
    ("ep", "endpoints"),
    ("quota", "resourcequotas"),
    ("limits", "limitranges"),
    ("secret", "secrets"),
    ("job", "jobs"),
    ("jobs.batch", "jobs"),
    ("leases", "leases"),
    ("leases.coordination.k8s.io", "leases"),
    ("ReplicationController", "replicationcontrollers"),
]


@pytest.mark.parametrize(("name", "plural"), LOOKUP_TABLE)
def test_lookup(name: str, plural: str) -> None:
    assert lookup(name).plural == plural


def test_lookup_unknown() -> None:
    with pytest.raises(BadRequest) as info:
        lookup("foos")
    assert info.value.message == 'the server doesn\'t have a resource type "foos"'


def test_resource_info_fields() -> None:
    d = lookup("deploy")
    assert (d.kind, d.group, d.version, d.api_version, d.namespaced, d.list_kind) == (
        "Deployment",
        "apps",
        "v1",
        "apps/v1",
        True,
        "DeploymentList",
    )
    assert "extensions/v1beta1" in d.served
    assert d.has_status
    assert not lookup("nodes").namespaced
    assert not lookup("cm").has_status
    assert lookup("pods").api_version == "v1"
    assert lookup("leases").api_version == "coordination.k8s.io/v1"


def test_contract_plurals_are_all_there() -> None:
    plurals = {r.plural for r in RESOURCES}
    expected = (
        "pods nodes namespaces services endpoints configmaps secrets replicationcontrollers events "
        "resourcequotas limitranges deployments replicasets daemonsets jobs cronjobs leases"
    ).split()
    assert set(expected) <= plurals  # the contract's kinds; later issues add more (ingresses ...)


@pytest.mark.parametrize(
    ("api_version", "kind", "served"),
    [
        ("v1", "Pod", True),
        ("apps/v1", "Deployment", True),
        ("extensions/v1beta1", "Deployment", True),
        ("apps/v1beta1", "Deployment", True),
        ("apps/v1beta1", "DaemonSet", False),
        ("v1", "Deployment", False),
        ("batch/v1beta1", "CronJob", True),
        ("batch/v1beta1", "Job", False),
    ],
)
def test_by_api_version_kind(api_version: str, kind: str, served: bool) -> None:
    info, is_served = by_api_version_kind(api_version, kind)
    assert info.kind == kind
    assert is_served is served


def test_by_api_version_kind_unknown() -> None:
    with pytest.raises(BadRequest) as info:
        by_api_version_kind("v1", "Foo")
    assert info.value.message == 'no matches for kind "Foo" in version "v1"'


def test_every_model_accepts_a_minimal_object() -> None:
    for r in RESOURCES:
        r.model.model_validate(
            {"apiVersion": r.api_version, "kind": r.kind, "metadata": {"name": "x"}}
            if r.kind != "Event"
            else {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "x"}, "involvedObject": {}}
        )
