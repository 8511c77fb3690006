"""The gateway's pure parts as tables: paths to kinds, methods to verbs, discovery from the
registry, Table negotiation and rows, Scale, exec's exit Status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actors.gateway import discovery, table
from actors.gateway.paths import parse, verb_of
from actors.gateway.streaming import exit_status
from actors.gateway.subresources import scale_of
from schemas.errors import MethodNotAllowed, NotFound
from schemas.registry import all_resources


@pytest.mark.parametrize(
    ("group", "version", "rest", "want"),
    [
        ("", "v1", ["pods"], ("pods", None, None, None)),
        ("", "v1", ["namespaces", "default", "pods"], ("pods", "default", None, None)),
        ("", "v1", ["namespaces", "default", "pods", "web"], ("pods", "default", "web", None)),
        ("", "v1", ["namespaces", "default", "pods", "web", "log"], ("pods", "default", "web", "log")),
        ("", "v1", ["namespaces", "team"], ("namespaces", None, "team", None)),
        ("", "v1", ["namespaces", "team", "status"], ("namespaces", None, "team", "status")),
        ("", "v1", ["nodes", "n1"], ("nodes", None, "n1", None)),
        ("apps", "v1", ["namespaces", "a", "deployments", "d", "scale"], ("deployments", "a", "d", "scale")),
        ("extensions", "v1beta1", ["namespaces", "a", "deployments"], ("deployments", "a", None, None)),
    ],
)
def test_paths_name_kinds(group: str, version: str, rest: list[str], want: tuple) -> None:
    target = parse(group, version, rest)
    assert (target.info.plural, target.namespace, target.name, target.subresource) == want


@pytest.mark.parametrize(
    ("group", "version", "rest"),
    [
        ("", "v1", ["deployments"]),  # not in the core group
        ("apps", "v2", ["deployments"]),  # no such version
        ("", "v1", ["namespaces", "a", "nodes"]),  # a cluster-scoped kind in a namespace
        ("", "v1", ["widgets"]),
        ("", "v1", []),
        ("", "v1", ["namespaces", "a", "pods", "p", "log", "extra"]),
    ],
)
def test_paths_that_name_nothing_are_not_found(group: str, version: str, rest: list[str]) -> None:
    with pytest.raises(NotFound, match="the server could not find the requested resource"):
        parse(group, version, rest)


@pytest.mark.parametrize(
    ("method", "named", "watch", "verb"),
    [
        ("GET", False, False, "list"),
        ("GET", False, True, "watch"),
        ("GET", True, False, "get"),
        ("GET", True, True, "watch"),
        ("POST", False, False, "create"),
        ("PUT", True, False, "update"),
        ("PATCH", True, False, "patch"),
        ("DELETE", True, False, "delete"),
        ("DELETE", False, False, "deletecollection"),
    ],
)
def test_methods_are_verbs(method: str, named: bool, watch: bool, verb: str) -> None:
    target = parse("", "v1", ["namespaces", "a", "pods", *(["p"] if named else [])])
    assert verb_of(method, target, watch) == verb


def test_put_on_a_collection_is_not_allowed() -> None:
    with pytest.raises(MethodNotAllowed):
        verb_of("PUT", parse("", "v1", ["pods"]), False)


def test_discovery_lists_every_registry_kind_at_its_storage_version() -> None:
    for info in all_resources():
        doc = discovery.resource_list(info.group, info.version)
        assert doc is not None
        entry = next(r for r in doc["resources"] if r["name"] == info.plural)
        assert (entry["kind"], entry["namespaced"]) == (info.kind, info.namespaced)
        assert entry.get("shortNames", []) == list(info.short_names)
    groups = discovery.api_group_list()["groups"]
    apps = next(g for g in groups if g["name"] == "apps")
    assert apps["preferredVersion"]["version"] == "v1"
    assert [g["name"] for g in groups][-1] == "extensions"  # legacy-only groups come last


def test_get_all_covers_the_workload_kinds_once() -> None:
    categorized = [
        r["name"]
        for gv in [
            ("", "v1"),
            ("apps", "v1"),
            ("batch", "v1"),
            ("extensions", "v1beta1"),
            ("apps", "v1beta2"),
        ]
        for r in (discovery.resource_list(*gv) or {"resources": []})["resources"]
        if "all" in r.get("categories", [])
    ]
    assert sorted(categorized) == sorted(
        [
            "pods",
            "services",
            "replicationcontrollers",
            "deployments",
            "replicasets",
            "daemonsets",
            "statefulsets",
            "jobs",
            "cronjobs",
        ]
    )


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        (
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
            True,
        ),
        ("application/json;as=Table;g=meta.k8s.io;v=v1beta1", True),
        ("application/json", False),
        ("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", False),
        ("", False),
    ],
)
def test_table_negotiation(accept: str, wanted: bool) -> None:
    assert table.wants_table(accept) is wanted


def test_a_pod_row_has_the_columns_jetkube_get_prints() -> None:
    pod = {
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2026-12-06T23:00:00Z"},
        "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": "Pending"},
    }
    doc = table.table("pods", [pod], {"resourceVersion": "7"}, datetime(2026, 12, 6, 23, 1, tzinfo=UTC))
    names = [c["name"].upper() for c in doc["columnDefinitions"] if c["priority"] == 0]
    assert names == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    row = doc["rows"][0]
    assert row["cells"][:5] == ["web", "0/1", "Pending", "0", "60s"]
    assert row["object"] is pod


@pytest.mark.parametrize(
    ("obj", "selector"),
    [
        (
            {"spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}}, "status": {"replicas": 2}},
            "app=web",
        ),
        ({"spec": {"replicas": 1, "selector": {"app": "rc"}}}, "app=rc"),  # a ReplicationController's map
    ],
)
def test_scale_of_a_scalable_object(obj: dict, selector: str) -> None:
    obj = {"metadata": {"name": "x", "namespace": "d", "resourceVersion": "9"}, **obj}
    scale = scale_of(obj)
    assert scale["spec"]["replicas"] == obj["spec"]["replicas"]
    assert scale["status"]["selector"] == selector
    assert scale["metadata"]["resourceVersion"] == "9"


def test_exec_exit_codes_become_the_status_kubectl_reads() -> None:
    assert exit_status(["true"], 0)["status"] == "Success"
    failed = exit_status(["sh", "-c", "exit 3"], 3)
    assert (failed["reason"], failed["details"]["causes"]) == (
        "NonZeroExitCode",
        [{"reason": "ExitCode", "message": "3"}],
    )
